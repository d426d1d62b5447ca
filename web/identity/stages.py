"""The second-factor step of allauth's sign-in, skipped when the identity provider already checked one."""

from allauth.mfa.stages import AuthenticateStage as _AllauthAuthenticateStage

from web.identity.oidc.claims import provider_asserted_mfa


class AuthenticateStage(_AllauthAuthenticateStage):
    def _should_handle(self, request) -> bool:
        sociallogin = (self.login.signal_kwargs or {}).get("sociallogin")
        if sociallogin is not None and provider_asserted_mfa(sociallogin.account.extra_data):
            return False
        return super()._should_handle(request)
