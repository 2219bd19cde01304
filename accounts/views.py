"""The logins: the dashboard's and the admin's, each Django's own view, refusing a client or
a username with too many recent failed attempts (accounts/throttles.py) before it checks any
password. The two share the counts: they are two doors to the same accounts."""

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.urls import reverse

from .throttles import failed_logins


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        username = request.POST.get("username", "")
        wait = failed_logins.retry_after(request, username)
        if wait is None:
            return super().post(request, *args, **kwargs)
        # An unbound form: validating a bound one would authenticate.
        form = self.get_form_class()(request, initial={"username": username[:150]})
        message = f"Too many failed login attempts. Try again in {wait} seconds."
        response = self.render_to_response(
            self.get_context_data(form=form, throttled=message), status=429
        )
        response["Retry-After"] = str(wait)
        return response

    def form_invalid(self, form):
        failed_logins.record_failure(self.request, form.data.get("username", ""))
        return super().form_invalid(form)

    def form_valid(self, form):
        failed_logins.forget_username(form.get_user().get_username())
        return super().form_valid(form)


class AdminLoginView(LoginView):
    """The admin's login page (`/admin/login/`, routed before the admin's own), as
    `AdminSite.login` shows it: staff only, the admin's look, `next` defaulting to the
    admin's index."""

    template_name = "admin/throttled_login.html"
    authentication_form = AdminAuthenticationForm
    redirect_authenticated_user = False

    def get(self, request, *args, **kwargs):
        if admin.site.has_permission(request):
            return redirect(reverse("admin:index", current_app=admin.site.name))
        return super().get(request, *args, **kwargs)

    def get_default_redirect_url(self):
        return reverse("admin:index", current_app=admin.site.name)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            admin.site.each_context(self.request),
            title="Log in",
            subtitle=None,
            app_path=self.request.get_full_path(),
            username=self.request.user.get_username(),
        )
        if not (
            REDIRECT_FIELD_NAME in self.request.GET or REDIRECT_FIELD_NAME in self.request.POST
        ):
            context[REDIRECT_FIELD_NAME] = reverse("admin:index", current_app=admin.site.name)
        return context
