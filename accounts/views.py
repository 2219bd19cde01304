"""The dashboard's login: Django's LoginView, refusing a client or a username with too many
recent failed attempts (accounts/throttles.py) before it checks any password."""

from django.contrib.auth import views as auth_views

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
