"""The sign-in form: allauth's, also taking the field name ``username`` (password managers, older scripts)."""

from allauth.account.forms import LoginForm as _AllauthLoginForm


class LoginForm(_AllauthLoginForm):
    def __init__(self, *args, **kwargs) -> None:
        data = kwargs.get("data")
        if data is not None and "login" not in data and "username" in data:
            data = data.copy()
            data["login"] = data["username"]
            kwargs["data"] = data
        super().__init__(*args, **kwargs)
        self.fields["login"].label = "Username"
        self.fields["login"].widget.attrs["id"] = "id_username"
        self.fields["login"].widget.attrs.pop("placeholder", None)
        self.fields["password"].widget.attrs.pop("placeholder", None)
