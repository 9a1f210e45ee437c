from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from health_check.views import HealthCheckView

from connections import views as connection_views
from connections.health import Broker, Database, NotifierFreshness
from connections.metrics_view import metrics

# Outside monitoring polls this without signing in; it reveals no data, only check names.
health = login_not_required(
    HealthCheckView.as_view(checks=[Database, Broker, NotifierFreshness])
)


urlpatterns = [
    path("favicon.ico", connection_views.favicon),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("health/", health, name="health"),
    path("metrics", metrics, name="metrics"),
    path("roles/", connection_views.roles, name="roles"),
    path("", include("connections.urls")),
]
