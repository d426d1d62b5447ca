"""allauth's OpenID Connect provider, with the id token's signature always checked and a nonce bound to the state.

allauth trusts an id token fetched from the token endpoint without checking its signature (OpenID Connect Core
allows it over TLS) and sends no nonce; Cadence checks both: the signature against the provider's published keys,
the issuer against CADENCE_OIDC_ISSUER, the audience (and azp) against the client id, and the nonce against the
one sent with this browser's sign-in.
"""

import hmac

from allauth.core.internal.deferred import jwt
from allauth.socialaccount.internal import jwtkit
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from django.conf import settings
from django.utils.crypto import get_random_string, salted_hmac


def nonce_for(state_id: str) -> str:
    """The nonce of one sign-in: a keyed hash of its one-time state, which lives in this browser's session."""
    return salted_hmac("cadence.oidc.nonce", state_id, algorithm="sha256").hexdigest()


class CadenceOIDCAdapter(OpenIDConnectOAuth2Adapter):
    def _decode_id_token(self, app, id_token: str) -> dict:
        config = self.openid_config
        if config.get("issuer", "").rstrip("/") != settings.CADENCE_OIDC_ISSUER.rstrip("/"):
            raise OAuth2Error("The identity provider's discovery document names another issuer.")
        allowed = [a for a in config.get("id_token_signing_alg_values_supported", ["RS256"])
                   if a != "none" and not a.startswith("HS")]
        try:
            alg = jwt.get_unverified_header(id_token).get("alg")
        except jwt.PyJWTError as exc:
            raise OAuth2Error("The id token is not a JSON Web Token.") from exc
        if alg not in allowed:
            raise OAuth2Error(f"The id token is signed with {alg!r}, which Cadence does not accept.")
        data = jwtkit.verify_and_decode(credential=id_token, keys_url=config["jwks_uri"], issuer=config["issuer"],
                                        audience=app.client_id, lookup_kid=jwtkit.lookup_kid_jwk,
                                        verify_signature=True)
        audience = data.get("aud")
        if isinstance(audience, list) and len(audience) > 1 and data.get("azp") != app.client_id:
            raise OAuth2Error("The id token was issued to another client (azp).")
        expected = nonce_for(self.request.GET.get("state", ""))
        if not hmac.compare_digest(str(data.get("nonce", "")), expected):
            raise OAuth2Error("The id token's nonce does not belong to this sign-in.")
        return data


class CadenceOIDCProvider(OpenIDConnectProvider):
    oauth2_adapter_class = CadenceOIDCAdapter

    def redirect(self, request, process, next_url=None, data=None, **kwargs):
        state_id = get_random_string(24)
        auth_params = kwargs.pop("auth_params", None)
        auth_params = dict(self.get_auth_params() if auth_params is None else auth_params)
        auth_params["nonce"] = nonce_for(state_id)
        return super().redirect(request, process, next_url, data, auth_params=auth_params, state_id=state_id,
                                **kwargs)


provider_classes = [CadenceOIDCProvider]
