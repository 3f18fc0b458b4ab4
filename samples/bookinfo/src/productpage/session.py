# The productpage login session: the user name travels in a `session` cookie signed with an HMAC,
# so any productpage replica given the same PRODUCTPAGE_SESSION_KEY accepts it and nobody can
# become "jason" by editing the cookie. There are no passwords: any name logs in, as in the
# original sample.
import base64
import hashlib
import hmac
import http.cookies
import secrets

COOKIE_NAME = "session"


class SessionCodec:
    def __init__(self, key):
        # Without a configured key each process signs with its own random key: sessions then
        # survive only as long as the process (enough for one productpage).
        self._key = key.encode("utf-8") if key else secrets.token_bytes(32)

    def _sign(self, payload):
        return hmac.new(self._key, payload, hashlib.sha256).hexdigest()

    def cookie_for(self, user):
        payload = base64.urlsafe_b64encode(user.encode("utf-8"))
        value = payload.decode("ascii") + "." + self._sign(payload)
        return f"{COOKIE_NAME}={value}; Path=/; HttpOnly"

    def clear_cookie(self):
        return f"{COOKIE_NAME}=; Path=/; Max-Age=0; HttpOnly"

    def user_from_cookie_header(self, header):
        """The logged-in user named by a Cookie header, or "" when none or not ours."""
        cookies = http.cookies.SimpleCookie()
        try:
            cookies.load(header)
        except http.cookies.CookieError:
            return ""
        morsel = cookies.get(COOKIE_NAME)
        if morsel is None or "." not in morsel.value:
            return ""
        payload, signature = morsel.value.rsplit(".", 1)
        if not hmac.compare_digest(self._sign(payload.encode("ascii", "replace")), signature):
            return ""
        try:
            return base64.urlsafe_b64decode(payload.encode("ascii")).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return ""
