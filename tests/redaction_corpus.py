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


def _s(alphabet: str, n: int, rng: random.Random = _R) -> str:
    """``n`` random characters of ``alphabet`` that include a digit (if it has digits) and, for letters, both cases."""
    while True:
        out = "".join(rng.choice(alphabet) for _ in range(n))
        letters = [c for c in out if c.isalpha()]
        cased = not any(c.islower() for c in alphabet) or not any(c.isupper() for c in alphabet)
        mixed = cased or (any(c.islower() for c in letters) and any(c.isupper() for c in letters))
        if (any(c.isdigit() for c in out) or not any(c.isdigit() for c in alphabet)) and mixed:
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

_R2 = random.Random(20250612)  # the second pass: its own seed, so the values above do not change
_LOWER = string.ascii_lowercase + string.digits
_UHEX = "0123456789ABCDEF"


def _n(alphabet: str, n: int) -> str:
    """Like ``_s``, from the second pass's seed."""
    return _s(alphabet, n, _R2)


def _uuid() -> str:
    return f"{_n(_HEX, 8)}-{_n(_HEX, 4)}-4{_n(_HEX, 3)}-a{_n(_HEX, 3)}-{_n(_HEX, 12)}"


def _letters(groups: str) -> str:
    return groups.join("".join(_R2.choice(string.ascii_lowercase) for _ in range(4)) for _ in range(4))


_TWILIO_SID = "AC" + _n(_HEX, 32)
_PW2 = _n(_ALNUM, 11) + "!"
_APP, _APP2 = _letters(" "), _letters("")
_DOCKER_AUTH = base64.b64encode(f"deploy:{_n(_ALNUM, 16)}".encode()).decode()
_DOCKERCONFIG = base64.b64encode(json.dumps({"auths": {"ghcr.io": {"auth": _n(_B64, 40)}}}).encode()).decode()

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
    # the second adversarial pass (values from their own seed, so the entries above keep theirs)
    _secret("pgpass_line", "The cron job's ~/.pgpass line is db.internal:5432:orders:report:{v} for the export.", _PW2),
    _secret("pgpass_wildcard", "Add *:*:*:replicator:{v} to .pgpass on the standby.", _n(_ALNUM, 14)),
    _secret("mandrill_key", "Order receipts go out through Mandrill with {v} since June.", "md-" + _n(_URLSAFE, 22)),
    _secret(
        "session_cookie", "The failing request sent Cookie: sessionid={v}; csrftoken=abc in the HAR.", _n(_LOWER, 32)
    ),
    _secret(
        "set_cookie_session", "The login answered Set-Cookie: JSESSIONID={v}; Path=/; HttpOnly there.", _n(_UHEX, 32)
    ),
    _secret("php_session_cookie", "Replay the bug with Cookie: PHPSESSID={v} on the shop.", _n(_LOWER, 26)),
    _secret("gmail_app_password", "The Gmail app password: {v} lets the relay send the invoices.", _APP),
    _secret("app_password_is", "Our application-specific password is {v} for the scanner.", _APP2),
    _secret("twilio_auth_token", "Twilio requests are signed with TWILIO_AUTH_TOKEN={v} in the worker.", _n(_HEX, 32)),
    _secret("notion_token", "The wiki sync talks to Notion with {v} nightly.", "secret_" + _n(_ALNUM, 43)),
    _secret("notion_ntn_token", "The new Notion integration uses {v} for the roadmap.", "ntn_" + _n(_ALNUM, 46)),
    _secret("dropbox_token", "Backups upload to Dropbox with {v} every hour.", "sl.B" + _n(_URLSAFE, 136)),
    _secret("doppler_token", "The container reads config with {v} at boot.", "dp.st.prd." + _n(_ALNUM, 40)),
    _secret(
        "shopify_shared_secret", "Webhooks are verified with {v} from the partner dashboard.", "shpss_" + _n(_HEX, 32)
    ),
    _secret("square_access_token", "The terminal calls Square with {v} in production.", "EAAA" + _n(_URLSAFE, 60)),
    _secret("square_oauth_token", "The marketplace got {v} from Square's OAuth flow.", "sq0atp-" + _n(_URLSAFE, 22)),
    _secret(
        "discord_webhook",
        "Deploy notices go to {v} in the ops server.",
        f"https://discord.com/api/webhooks/{_n(string.digits, 18)}/{_n(_URLSAFE, 68)}",
    ),
    _secret("heroku_env", "The pipeline exports HEROKU_API_KEY={v} before the release.", _uuid()),
    _secret("postman_key", "Collection runs use {v} from the workspace.", f"PMAK-{_n(_HEX, 24)}-{_n(_HEX, 34)}"),
    _secret("linear_key", "The triage bot files issues with {v} in Linear.", "lin_api_" + _n(_ALNUM, 40)),
    _secret(
        "atlassian_token", "Jira automation authenticates with {v} for the board.", "ATATT3xFfGF0" + _n(_URLSAFE, 180)
    ),
    _secret(
        "age_secret_key",
        "The sops recipients file pairs with {v} on the build box.",
        "AGE-SECRET-KEY-1" + _n("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58),
    ),
    _secret(
        "grafana_service_account", "Dashboards are provisioned with {v} by CI.", f"glsa_{_n(_ALNUM, 32)}_{_n(_HEX, 8)}"
    ),
    _secret("grafana_cloud_token", "Metrics are pushed with {v} to the stack.", "glc_" + _n(_ALNUM, 90) + "="),
    _secret("newrelic_user_key", "The alert policy script calls New Relic with {v} daily.", "NRAK-" + _n(_UPPER, 27)),
    _secret("sentry_user_token", "Release uploads use {v} from the CI vault.", "sntryu_" + _n(_HEX, 64)),
    _secret(
        "fcm_server_key",
        "Push notifications are sent with the server key {v} for Android.",
        f"AAAA{_n(_URLSAFE, 7)}:APA91b{_n(_URLSAFE, 134)}",
    ),
    _secret("docker_config_auth", '{{"auths": {{"registry.example.com": {{"auth": "{v}"}}}}}}', _DOCKER_AUTH),
    _secret("dockerconfigjson", "The pull secret has .dockerconfigjson: {v} in the chart.", _DOCKERCONFIG),
    _secret(
        "netrc_password",
        "The build box keeps machine api.example.com login deploy password {v} in its .netrc file.",
        _PW2 + "n",
    ),
    _secret("bcrypt_hash", "The users table row had the hash {v} for the admin.", "$2b$12$" + _n(_ALNUM + "./", 53)),
    _secret(
        "sha512crypt_hash",
        "The shadow entry is root:{v}:19000:0:99999:7::: on the image.",
        f"$6${_n(_ALNUM, 16)}${_n(_ALNUM + './', 86)}",
    ),
    _secret("redis_requirepass", "The cache's redis.conf sets requirepass {v} today.", _n(_ALNUM, 24)),
    _secret("vault_unseal_key", "The operator init printed Unseal Key 1: {v} on the console.", _n(_B64, 44)),
    _secret(
        "pkcs12_keystore",
        "The TLS secret holds keystore.p12: {v} for the gateway.",
        "MIIKcQIBAzCCCjcGCSqGSIb3" + _n(_B64, 160),
    ),
    _secret("airtable_pat", "The CRM import uses {v} for the base.", f"pat{_n(_ALNUM, 14)}.{_n(_HEX, 64)}"),
    _secret("planetscale_token", "Schema deploys run with {v} on the branch.", "pscale_tkn_" + _n(_URLSAFE, 43)),
    _secret("flyio_token", "The deploy action uses FlyV1 {v} to ship.", "fm2_" + _n(_B64, 120)),
    _secret(
        "terraform_cloud_token",
        "Remote runs authenticate with {v} in the workspace.",
        f"{_n(_ALNUM, 14)}.atlasv1.{_n(_URLSAFE, 67)}",
    ),
    _secret("rubygems_key", "Gem releases push with {v} from the laptop.", "rubygems_" + _n(_HEX, 48)),
    _secret("contentful_token", "The site builds pull content with {v} each deploy.", "CFPAT-" + _n(_URLSAFE, 43)),
    _secret("groq_key", "The router falls back to Groq with {v} when busy.", "gsk_" + _n(_ALNUM, 52)),
    _secret("replicate_token", "Image jobs run on Replicate with {v} for the demo.", "r8_" + _n(_ALNUM, 37)),
    _secret("perplexity_key", "The research agent queries Perplexity with {v} today.", "pplx-" + _n(_ALNUM, 48)),
    _secret("xai_key", "The comparison run calls Grok with {v} once.", "xai-" + _n(_ALNUM, 80)),
    _secret("langsmith_key", "Traces are sent with {v} to the project.", f"lsv2_pt_{_n(_HEX, 32)}_{_n(_HEX, 10)}"),
    _secret("tavily_key", "Web search goes through Tavily with {v} in the agent.", "tvly-" + _n(_ALNUM, 32)),
    _secret("brevo_key", "Newsletters are sent with {v} via Brevo.", f"xkeysib-{_n(_HEX, 64)}-{_n(_ALNUM, 16)}"),
    _secret("bitbucket_app_password", "The mirror job pushes with {v} to Bitbucket.", "ATBB" + _n(_ALNUM, 32)),
    _secret("supabase_token", "Migrations run with {v} against the project.", "sbp_" + _n(_HEX, 40)),
    _secret("prefect_key", "Flows are registered with {v} on the workspace.", "pnu_" + _n(_ALNUM, 36)),
    _secret("nuget_key", "Packages are pushed to nuget.org with {v} by CI.", "oy2" + _n(_LOWER, 43)),
    _secret("twitch_token", "The chat bot joins with {v} on stream.", "oauth:" + _n(_LOWER, 30)),
    _secret(
        "mapbox_secret_token",
        "Tilesets are uploaded with {v} weekly.",
        f"sk.eyJ1Ijoi{_n(_ALNUM, 50)}.{_n(_URLSAFE, 22)}",
    ),
    _secret("facebook_token", "The page posts with {v} from the scheduler.", "EAAG" + _n(_ALNUM, 180)),
    _secret("jfrog_reference_token", "Artifacts are fetched with {v} from JFrog.", "cmVmdGtuOjAxOjE3" + _n(_ALNUM, 48)),
    _secret("gitlab_runner_token", "The runner was registered with {v} last year.", "GR1348941" + _n(_URLSAFE, 20)),
    _secret("sourcegraph_token", "Code search scripts use {v} for the instance.", "sgp_" + _n(_HEX, 40)),
    _secret("adafruit_io_key", "The greenhouse sensor posts with {v} every minute.", "aio_" + _n(_ALNUM, 28)),
    _secret(
        "huggingface_org_token",
        "The org mirror uses {v} for private models.",
        "api_org_" + _n(string.ascii_letters, 34),
    ),
    _secret(
        "aws_session_token",
        "The assumed role gave aws_session_token = {v} for an hour.",
        "IQoJb3JpZ2luX2VjE" + _n(_B64, 600),
    ),
    _secret(
        "azure_devops_pat",
        "The pipeline sets AZURE_DEVOPS_PAT={v} for the feed.",
        _n("abcdefghijklmnopqrstuvwxyz234567", 52),
    ),
    _secret("algolia_admin_key", "Reindexing needs ALGOLIA_ADMIN_KEY={v} on the worker.", _n(_HEX, 32)),
    _secret("wpa_psk", 'The kiosk wpa_supplicant.conf has psk="{v}" for the shop Wi-Fi.', _n(_ALNUM, 12) + "&3"),
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
    # look-alikes of the second pass's kinds
    f"Twilio account {_TWILIO_SID} sends the SMS alerts (an account SID is an id, not a secret).",
    "Call 312 48 1520 after lunch about the lease.",
    "Add secret_santa_list to the party planning doc.",
    "See the figures in sl. 14 of the board deck.",
    "Style the drawer with md-sidenav-right-backdrop in the theme.",
    "Logged-out pages set sessionid=anonymous in the test fixture.",
    "App passwords keep your mail safe when two-step verification is on.",
    "The app password is used only for the SMTP relay.",
    "Ports 127.0.0.1:5432:5432 and fe80:0:0:0:1:2:3:4 stay on the host.",
    "The log line ERROR:2024:billing:retry:Timeout was harmless.",
    "root:x:0:0:root:/root:/bin/bash is the first line of /etc/passwd.",
    "The pgpass format is hostname:port:database:username:password per line.",
    "bcrypt hashes start with $2b$12$ and are 60 characters long.",
    "Set requirepass before exposing the Redis port.",
    "Unseal key shares: 5, threshold: 3.",
    "keystore.p12: see the vault runbook for the file.",
    "oauth: disabled for the internal API.",
    "auth: required for every route in the gateway.",
    "GITHUB_PAT=${{ secrets.GH_PAT }} in the workflow file.",
    "Release v1.2.3-rc.1 of sl.core ships with Go 1.22.0.",
    "The config has psk mode wpa2 and a hidden SSID.",
    "Patterns like pat_count=3 and PATH=/usr/bin are fine.",
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
    ({"auths": {"ghcr.io": {"auth": _DOCKER_AUTH}}}, [_DOCKER_AUTH]),
    ({"cookies": {"sessionid": (_c2 := _n(_LOWER, 32))}, "redis": {"requirepass": (_r := _n(_ALNUM, 20))}}, [_c2, _r]),
]
"""Values whose keys are secrets, or whose values sit under a secret-sounding key (``{"password": ...}``,
Kubernetes' ``{"name": "DB_PASSWORD", "value": ...}``): every such string must be redacted and every entry kept."""
