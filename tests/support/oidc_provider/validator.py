from oauth2_provider.oauth2_validators import OAuth2Validator


class ClaimsValidator(OAuth2Validator):
    """The claims a hospital's provider would send: username, e-mail, groups, and amr ("mfa" for users in the
    group "mfa-done", as if the provider had asked them for a second factor)."""

    oidc_claim_scope = None  # every claim, whatever the scopes

    def get_additional_claims(self, request):
        user = request.user
        groups = sorted(user.groups.values_list("name", flat=True))
        return {"preferred_username": user.username, "email": user.email,
                "groups": [g for g in groups if g != "mfa-done"],
                "amr": ["pwd", "mfa"] if "mfa-done" in groups else ["pwd"]}
