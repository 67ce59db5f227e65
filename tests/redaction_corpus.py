"""The redaction corpus: common secret types, each in an ordinary sentence, and benign look-alikes.

``SECRETS`` holds one :class:`Secret` per type (the sentence and the value that must never be
read back); ``BENIGN`` holds texts that resemble secrets and must be read back unchanged;
``DICT_KEY_SECRETS`` holds values whose *keys* are secrets. ``tests/test_redaction_corpus.py``
runs the redactor over them and ``tests/test_redaction_paths.py`` writes them through every
write path of a real instance and reads them back through every read path.

The values are fake. Random parts are drawn from a fixed seed, so the file holds no literal that a
secret scanner would flag and every run sees the same texts; card numbers are the networks'
published test numbers.
"""

from __future__ import annotations

import base64
import json
import random
import string
from dataclasses import dataclass

__all__ = ["BENIGN", "DICT_KEY_SECRETS", "SECRETS", "Secret"]

_R = random.Random(20240611)
_ALNUM = string.ascii_letters + string.digits
_UPPER = string.ascii_uppercase + string.digits
_HEX = "0123456789abcdef"
_B64 = _ALNUM + "+/"
_URLSAFE = _ALNUM + "-_"


def _s(alphabet: str, n: int) -> str:
    """``n`` random characters of ``alphabet`` that include a digit and, for letters, both cases."""
    while True:
        out = "".join(_R.choice(alphabet) for _ in range(n))
        letters = [c for c in out if c.isalpha()]
        cased = not any(c.islower() for c in alphabet) or not any(c.isupper() for c in alphabet)
        mixed = cased or (any(c.islower() for c in letters) and any(c.isupper() for c in letters))
        if any(c.isdigit() for c in out) and mixed:
            return out


def _b64url(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@dataclass(frozen=True)
class Secret:
    """One secret type: a sentence carrying it and the value that must not be read back."""

    kind: str
    text: str
    value: str


def _secret(kind: str, template: str, value: str) -> Secret:
    return Secret(kind, template.format(v=value), value)


_PW = [_s(_ALNUM, 10) + "!" for _ in range(12)]
_OPENSSH = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW" + _s(_B64, 40)
_RSA = "MIIEowIBAAKCAQEA" + _s(_B64, 48)
_PGP = "lQOYBF" + _s(_B64, 56)
_GCP = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" + _s(_B64, 40)
_JWT = ".".join(
    [_b64url({"alg": "HS256", "typ": "JWT"}), _b64url({"sub": "1234567890", "name": "Jane"}), _s(_URLSAFE, 43)]
)
_BASIC = base64.b64encode(f"deploy:{_PW[5]}".encode()).decode()
_SIG = _s(_ALNUM, 40) + "%3D"
_UUID = f"{_s(_HEX, 8)}-{_s(_HEX, 4)}-4{_s(_HEX, 3)}-a{_s(_HEX, 3)}-{_s(_HEX, 12)}"
_MAAS = f"maas_{_s(_HEX, 32)}_{_s(_URLSAFE, 43)}"

SECRETS: list[Secret] = [
    _secret("aws_access_key_id", "The deploy user has access key {v} for the staging bucket.", "AKIA" + _s(_UPPER, 16)),
    _secret("aws_secret_key_env", "Set AWS_SECRET_ACCESS_KEY={v} before running the sync job.", _s(_B64, 40)),
    _secret("aws_secret_key_ini", "The credentials file says aws_secret_access_key = {v} under default.", _s(_B64, 40)),
    _secret("github_token", "CI clones the repository with {v} as its checkout token.", "ghp_" + _s(_ALNUM, 36)),
    _secret("github_oauth", "The OAuth app returned {v} after the login.", "gho_" + _s(_ALNUM, 36)),
    _secret(
        "github_fine_grained", "The release bot uses {v} for tags.", f"github_pat_{_s(_ALNUM, 22)}_{_s(_ALNUM, 59)}"
    ),
    _secret("gitlab_token", "The runner registers with {v} every morning.", "glpat-" + _s(_URLSAFE, 20)),
    _secret(
        "openssh_private_key",
        "The bastion key is\n-----BEGIN OPENSSH PRIVATE KEY-----\n{v}\n-----END OPENSSH PRIVATE KEY-----\nkeep it safe.",
        _OPENSSH,
    ),
    _secret(
        "rsa_private_key",
        "Old deploy key: -----BEGIN RSA PRIVATE KEY----- {v} -----END RSA PRIVATE KEY----- was rotated in May.",
        _RSA,
    ),
    _secret(
        "pgp_private_key",
        "The signing key -----BEGIN PGP PRIVATE KEY BLOCK----- {v} -----END PGP PRIVATE KEY BLOCK----- is archived.",
        _PGP,
    ),
    _secret(
        "gcp_service_account",
        '{{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\\n{v}\\n-----END PRIVATE KEY-----\\n"}}',
        _GCP,
    ),
    _secret("postgres_url", "The app connects to postgres://app_user:{v}@db.internal:5432/orders each night.", _PW[0]),
    _secret("https_url", "The nightly report lives at https://deploy:{v}@reports.example.com/daily.csv now.", _PW[1]),
    _secret("mongodb_url", "Analytics reads mongodb+srv://analyst:{v}@cluster0.example.net/events daily.", _PW[2]),
    _secret("redis_url", "The cache is redis://:{v}@cache.internal:6379/0 in staging.", _PW[3]),
    _secret(
        "slack_bot_token",
        "The alert bot posts with {v} in the ops channel.",
        f"xoxb-{_s(string.digits, 12)}-{_s(_ALNUM, 24)}",
    ),
    _secret(
        "slack_user_token",
        "The legacy integration used {v} for exports.",
        f"xoxs-{_s(string.digits, 11)}-{_s(_ALNUM, 30)}",
    ),
    _secret(
        "slack_webhook",
        "Build results go to {v} for the team.",
        f"https://hooks.slack.com/services/T{_s(_UPPER, 8)}/B{_s(_UPPER, 10)}/{_s(_ALNUM, 24)}",
    ),
    _secret("visa_card", "The test purchase used card 4111 1111 1111 1111 with any expiry.", "4111 1111 1111 1111"),
    _secret("mastercard", "Refund the order paid with 5555-5555-5555-4444 last week.", "5555-5555-5555-4444"),
    _secret("amex_card", "The corporate card 378282246310005 covers travel.", "378282246310005"),
    _secret("stripe_live_key", "Payments run with {v} in production.", "sk_live_" + _s(_ALNUM, 24)),
    _secret("stripe_restricted_key", "The reporting job has {v} for read access.", "rk_test_" + _s(_ALNUM, 24)),
    _secret("google_api_key", "Maps calls use {v} from the console.", "AIza" + _s(_URLSAFE, 35)),
    _secret("password_is", "For the staging box the password is {v} until Friday.", _PW[4]),
    _secret("my_password_colon", "My password: {v} (please rotate it soon).", _PW[6]),
    _secret("passwort", "Das Passwort: {v} gilt bis Montag.", _PW[7]),
    _secret("pwd_assignment", "Run the migration with pwd={v} against the legacy host.", _PW[8]),
    _secret("sendgrid_key", "Mail goes out through {v} since March.", f"SG.{_s(_URLSAFE, 22)}.{_s(_URLSAFE, 43)}"),
    _secret("basic_auth_header", "The proxy expects Authorization: Basic {v} on every call.", _BASIC),
    _secret("bearer_header", "The client sends Authorization: Bearer {v} with each billing request.", _s(_URLSAFE, 40)),
    _secret(
        "azure_account_key",
        "DefaultEndpointsProtocol=https;AccountName=acmestore;AccountKey={v};EndpointSuffix=core.windows.net",
        _s(_B64, 86) + "==",
    ),
    _secret(
        "azure_sas",
        "BlobEndpoint=https://acme.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&ss=b&sp=r&sig={v}",
        _SIG,
    ),
    _secret("us_ssn", "Her SSN is {v} according to the onboarding form.", "536-22-8714"),
    _secret("npm_token", "Publishing uses {v} from the release vault.", "npm_" + _s(_ALNUM, 36)),
    _secret("pypi_token", "Upload with {v} as the password.", "pypi-AgEIcHlwaS5vcmc" + _s(_URLSAFE, 80)),
    _secret("openai_key", "The summariser calls the model with {v} today.", "sk-proj-" + _s(_URLSAFE, 48)),
    _secret("anthropic_key", "The agent runs on {v} for the pilot.", "sk-ant-api03-" + _s(_URLSAFE, 93)),
    _secret("twilio_key", "SMS alerts use {v} as the API key.", "SK" + _s(_HEX, 32)),
    _secret("mailgun_key", "Transactional mail uses {v} for the domain.", "key-" + _s(_ALNUM, 32)),
    _secret("mailchimp_key", "The newsletter sync has {v} configured.", _s(_HEX, 32) + "-us6"),
    _secret("jwt", "The session cookie was {v} when it failed.", _JWT),
    _secret(
        "discord_bot_token",
        "The Discord bot logs in with {v} at startup.",
        f"M{_s(_URLSAFE, 23)}.{_s(_URLSAFE, 6)}.{_s(_URLSAFE, 27)}",
    ),
    _secret(
        "telegram_bot_token", "The Telegram bot uses {v} for updates.", f"{_s(string.digits, 9)}:AA{_s(_URLSAFE, 33)}"
    ),
    _secret("heroku_api_key", "Our heroku api key is {v} for the pipeline.", _UUID),
    _secret("digitalocean_token", "Droplets are created with {v} by terraform.", "dop_v1_" + _s(_HEX, 64)),
    _secret("shopify_token", "The storefront app has {v} installed.", "shpat_" + _s(_HEX, 32)),
    _secret("square_token", "Point of sale uses {v} as its secret.", "sq0csp-" + _s(_URLSAFE, 43)),
    _secret("vault_token", "Unseal then log in with {v} to read the path.", "hvs." + _s(_URLSAFE, 90)),
    _secret("databricks_token", "Notebooks authenticate with {v} on the workspace.", "dapi" + _s(_HEX, 32)),
    _secret("huggingface_token", "Model downloads use {v} for gated repos.", "hf_" + _s(_ALNUM, 34)),
    _secret(
        "ado_connection_string",
        "Server=tcp:sql.example.net,1433;Database=app;User ID=sa;Password={v};Encrypt=True;",
        _PW[9],
    ),
    _secret("jdbc_url", "Use jdbc:mysql://db.example.net:3306/shop?user=shop&password={v}&useSSL=true there.", _PW[10]),
    _secret("token_assignment", "The webhook was configured with token={v} yesterday.", _s(_ALNUM, 32)),
    _secret("client_secret", "client_secret: {v} is in the OAuth config.", _s(_URLSAFE, 40)),
    _secret("api_key_json", '{{"service": "geo", "api_key": "{v}"}}', _s(_ALNUM, 32)),
    _secret("x_api_key_header", "Requests carry x-api-key: {v} for the partner API.", _s(_ALNUM, 40)),
    _secret("maas_api_key", "The supervisor's MaaS key is {v} for the MCP server.", _MAAS),
    _secret("passwd_env", "export DB_PASSWD={v} in the shell profile.", _PW[11]),
    # formats an outside red-team pass found leaking (kept after the original list so its values do not change)
    _secret("docker_pat", "The registry mirror pulls with {v} at night.", "dckr_pat_" + _s(_URLSAFE, 27)),
    _secret("slack_app_token", "Socket mode connects with {v} on boot.", f"xapp-1-A{_s(_UPPER, 10)}-{_s(_HEX, 40)}"),
    _secret(
        "teams_webhook",
        "Incidents post to https://acme.webhook.office.com/webhookb2/{v} for the on-call team.",
        f"{_s(_HEX, 32)}@{_s(_HEX, 32)}/IncomingWebhook/{_s(_HEX, 32)}",
    ),
    _secret("google_oauth_token", "The sync job received {v} from the token endpoint.", "ya29.a0" + _s(_URLSAFE, 80)),
    _secret("alibaba_access_key", "Uploads to OSS use {v} as the access key id.", "LTAI5t" + _s(_ALNUM, 18)),
    _secret(
        "azure_ad_client_secret", "The app registration signs in with {v} daily.", f"{_s(_ALNUM, 3)}8Q~{_s(_ALNUM, 34)}"
    ),
    _secret(
        "mailgun_new_key", "Mail for the shop goes through {v} now.", f"{_s(_HEX, 32)}-{_s(_HEX, 8)}-{_s(_HEX, 8)}"
    ),
    _secret("okta_ssws", "The directory sync sends Authorization: SSWS {v} each hour.", "00" + _s(_URLSAFE, 40)),
    _secret(
        "apim_subscription_key", "Partner calls carry Ocp-Apim-Subscription-Key: {v} on each request.", _s(_HEX, 32)
    ),
    _secret("pgpassword_env", "Run PGPASSWORD={v} psql -h db -U app for the report.", _PW[0] + "x"),
    _secret("mysql_cli_password", "Restore with mysql -uroot -p{v} shop < dump.sql tonight.", _PW[1] + "x"),
    _secret("curl_user_password", "Check it with curl -u admin:{v} https://ci.internal/api/json please.", _PW[2] + "x"),
    _secret(
        "url_password_with_at",
        "Connect to postgres://admin:{v}@db.internal:5432/app for the audit.",
        "Pa@ss" + _s(_ALNUM, 9),
    ),
    _secret("russian_password", "The Moscow reseller wrote: пароль: {v} до пятницы, for the kiosk.", _PW[3] + "x"),
    _secret(
        "chinese_password",
        "The Shenzhen vendor's note says 测试环境数据库密码\uff1a{v} for the staging kiosk.",
        _PW[4] + "x",
    ),
    _secret("api_key_is", "The API key is {v} for the geocoder.", _s(_HEX, 32)),
    _secret("private_key_hex", "The wallet private key: 0x{v} must never leave the box.", _s(_HEX, 64)),
    _secret("card_with_dots", "Charge the card 4111.1111.1111.1111 for the deposit.", "4111.1111.1111.1111"),
    _secret("ssn_with_dots", "The form lists SSN 536.22.8714 for the employee.", "536.22.8714"),
    _secret("escaped_json_password", 'The log line was {{\\"password\\": \\"{v}\\"}} in plain text.', _PW[5] + "x"),
]
"""Every secret type, in a sentence that screening accepts."""

BENIGN: list[str] = [
    "api_key: string",
    "api_key: str",
    "password: <your password>",
    "token=${TOKEN}",
    'password=os.environ["PW"]',
    "pwd=/home/user",
    "The secret sauce is salt and patience.",
    "Use a token bucket of 10 requests per second.",
    "Click password reset to receive a new link.",
    "Call the front desk at +1 (555) 123-4567 or 555-987-6543.",
    "Order 1234567812345678 shipped on time.",
    "The ISBN is 978-0-306-40615-7 for the second edition.",
    "The meeting moved to 2024-01-15 at 10:30:00.",
    "We upgraded to v2.14.3 and Python 3.11.4 last sprint.",
    "The request id was 550e8400-e29b-41d4-a716-446655440000.",
    "Fixed in commit 3f786850e387550fdab836ed7e6dc881de23001b on main.",
    "The brand colour is #ff5733 with #1a2b3c accents.",
    "Set max_tokens=4096 and temperature 0.2 for the summary.",
    "tokenizer: bert-base-uncased",
    "password_length: 12",
    "The password is stored in the vault and rotated monthly.",
    "Basic training starts on Monday for new hires.",
    "He was the bearer of bad news about the outage.",
    "Install scikit-learn and use sk-learn style estimators.",
    "Deploy to region us-east-1 with two replicas.",
    "The invoice total was 1234.5678 EUR.",
    "The key-value store keeps 1000000 entries.",
    "See https://example.com/docs?page=2#install for setup.",
    "Connect to postgres://localhost:5432/orders for local tests.",
    "Clone git@github.com:acme/widgets.git to start.",
    "secret_name: prod-db-credentials",
    "token_type: bearer",
    "Room 101 is booked from 9 to 5.",
    "The server IP is 192.168.1.10 on port 8080.",
    "The epoch timestamp 1700000000 marks the cutover.",
    "The credit card ending in 4242 was declined.",
    "The ssn field is required on the form.",
    "password: ********",
    "api_key = os.getenv('API_KEY')",
    "password: Optional[str] = None",
    "export PATH=/usr/local/bin:$PATH",
    "Tracking number 1Z999AA10123456784 is in transit.",
    "STRIPE_KEY=sk_test_XXXXXXXXXXXXXXXXXXXXXXXX in the README example.",
    "aws_access_key_id = AKIAXXXXXXXXXXXXXXXX in the template.",
    "The phone reports IMEI 490154203237518 after the reset.",
    "Docs: postgresql://user:password@localhost:5432/mydb for a local setup.",
    "password_hash: bcrypt",
    "Пароль должен содержать не менее 12 символов.",
    "密码长度至少12位",
    "Pay the invoice to IBAN DE89 3704 0044 0532 0130 00 by Friday.",
    "docker run -p 8080:80 nginx after docker login registry.example.com",
    "Run mysql -u root -p shop and type the password when asked.",
    "encryption key: AES-256",
    "The image digest is sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855.",
    "The API key is required for the v2 endpoints.",
]
"""Texts that resemble secrets and must be read back as written."""

DICT_KEY_SECRETS: list[tuple[dict[str, object], list[str]]] = [
    ({SECRETS[3].value: "ci token", "note": "keys are data too"}, [SECRETS[3].value]),
    ({"stripe": {SECRETS[21].value: True}}, [SECRETS[21].value]),
    ({SECRETS[0].value: 1, SECRETS[4].value: 2, "[REDACTED]": 3}, [SECRETS[0].value, SECRETS[4].value]),
    ({"state": [{f"password: {_PW[4]}": "x"}]}, [_PW[4]]),
    ({"db": {"user": "app", "password": _PW[6] + "y"}}, [_PW[6] + "y"]),
    ({"Credentials": {"SecretAccessKey": (_k := _s(_B64, 40)), "SessionToken": _k + "Zz9"}}, [_k]),
    ({"env": [{"name": "DB_PASSWORD", "value": _PW[7] + "y"}]}, [_PW[7] + "y"]),
    ({"PGPASSWORD": _PW[8] + "y", "oauth": {"client_secret": (_c := _s(_URLSAFE, 24))}}, [_PW[8] + "y", _c]),
]
"""Values whose keys are secrets, or whose values sit under a secret-sounding key (``{"password": ...}``,
Kubernetes' ``{"name": "DB_PASSWORD", "value": ...}``): every such string must be redacted and every entry kept."""
