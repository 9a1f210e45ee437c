"""Sign-in and password-reset pages: Django's own views, reset switched by PASSWORD_RESET and throttled."""

from functools import wraps

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import Http404
from django.shortcuts import render
from django.urls import path, reverse_lazy

from connections.sign_in import record_reset_request, reset_throttled


class SignInView(auth_views.LoginView):
    def get_context_data(self, **kwargs):
        return super().get_context_data(**kwargs) | {"password_reset": settings.PASSWORD_RESET}


class ThrottledPasswordResetView(auth_views.PasswordResetView):
    """Sends at most PASSWORD_RESET_PER_ADDRESS_PER_HOUR mails to one address and answers at
    most PASSWORD_RESET_PER_IP_PER_HOUR requests from one client an hour (429 beyond)."""

    success_url = reverse_lazy("password_reset_done")

    def form_valid(self, form):
        address = form.cleaned_data["email"]
        if reset_throttled(self.request, address):
            return render(self.request, "registration/password_reset_throttled.html", status=429)
        record_reset_request(self.request, address)
        return super().form_valid(form)


def _only_when_enabled(view):
    """404 unless PASSWORD_RESET=1 (read per request, so tests and deployments can switch it)."""

    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not settings.PASSWORD_RESET:
            raise Http404("Password reset is switched off.")
        return view(request, *args, **kwargs)

    return login_not_required(guarded)


urlpatterns = [
    path("login/", SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password_change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password_reset/", _only_when_enabled(ThrottledPasswordResetView.as_view()), name="password_reset"),
    path("password_reset/done/", _only_when_enabled(auth_views.PasswordResetDoneView.as_view()),
         name="password_reset_done"),
    path("reset/<uidb64>/<token>/", _only_when_enabled(auth_views.PasswordResetConfirmView.as_view()),
         name="password_reset_confirm"),
    path("reset/done/", _only_when_enabled(auth_views.PasswordResetCompleteView.as_view()),
         name="password_reset_complete"),
]
