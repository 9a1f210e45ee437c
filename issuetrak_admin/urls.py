from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path

from connections import views as connection_views
from connections.metrics_view import metrics


# Outside monitoring polls this without signing in; it reveals no data, only check names.
@login_not_required
async def health(request):
    """`/health/`; django-health-check (which loads dnspython and redis.asyncio) is imported here,
    on first use, so commands and workers never pay for it."""
    from connections.health_endpoint import health_view

    return await health_view(request)



urlpatterns = [
    path("favicon.ico", connection_views.favicon),
    path("admin/", admin.site.urls),
    path("accounts/", include("connections.account_views")),
    path("health/", health, name="health"),
    path("metrics", metrics, name="metrics"),
    path("roles/", connection_views.roles, name="roles"),
    path("", include("connections.urls")),
]
