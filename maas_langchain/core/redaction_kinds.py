"""The kinds of secret that redaction (:mod:`maas_langchain.core.redaction`) recognises, as
bounded regular expressions in the order they run, and :data:`SECRET_KINDS`, their names.

Provider tokens with a published prefix come first (cloud, source hosting, chat, payments, mail,
AI providers, package registries, observability, ...), then credentials recognised by their
setting (``.pgpass`` lines, ``Cookie: sessionid=``, Docker's ``auth``, ``requirepass``, Vault's
unseal keys, keystores, password hashes, passwords in URLs and command lines, authorization
headers), then card numbers and SSNs, and last the keyword rules (``password: ...``). A later rule
sees the text with earlier secrets already replaced. Twilio's account SID (``AC`` + 32 hex) is an
identifier found in every API URL and is left readable; its auth token is redacted by its name.

Example:
    >>> "twilio_key" in SECRET_KINDS and "pgpass_line" in SECRET_KINDS
    True
"""

from __future__ import annotations

from maas_langchain.core.redaction_rules import (
    B64,
    END,
    KEY,
    LETTERS_AND_DIGITS,
    PASSWORD_WORDS,
    PLACEHOLDER,
    PW_WORDS,
    UUID,
    Rule,
    app_password,
    assignment,
    basic,
    card,
    docker_auth,
    english,
    openai,
    password_like,
    pgpass,
    placeholder,
    random_body,
    rule,
    token_like,
    value_check,
)

__all__ = ["RULES", "SECRET_KINDS"]

RULES: tuple[Rule, ...] = (
    rule(
        "private_key",
        r"-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----(?:[A-Za-z0-9+/=\s:,.\\()_]|-(?!----)){0,40000}"
        r"(?:-----END[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----)?",
        "-----begin",
    ),
    rule("putty_private_key", r"Private-Lines:[ \t]{0,4}\d{1,4}\s{1,4}(?P<s>[A-Za-z0-9+/=\r\n]{1,20000})", "private-"),
    rule("aws_access_key_id", r"\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b", "akia|asia|abia|acca|a3t"),
    rule(
        "aws_secret_access_key",
        r"(?i:aws)[_.-]?(?i:secret)[_.-]?(?i:access[_.-]?)?(?i:key)[\"'\]]{0,2}[ \t]*(?::=|=>|[:=])[ \t]*[\"']?"
        r"(?P<s>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])",
        "aws",
    ),
    rule("github_token", r"\b(?:gh[pousr]_[A-Za-z0-9]{20,255}|github_pat_[A-Za-z0-9_]{22,255})\b", "gh|github_pat"),
    rule(
        "gitlab_token",
        r"\b(?:(?:glpat|gloas|gldt|glrt|glcbt|glptt|glft|glimt|glagent|glsoat)[-_][A-Za-z0-9_=+/-]{20,80}"
        r"|GR1348941[A-Za-z0-9_-]{20,40})" + END,  # runner registration token
        "gl|gr1348941",
    ),
    rule(
        "grafana_token",
        r"\b(?:glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|glc_[A-Za-z0-9+/]{32,400}={0,2}|eyJrIjoi[A-Za-z0-9+/]{40,400}={0,2})"
        r"(?![A-Za-z0-9+/=_-])",
        "glsa_|glc_|eyjrijoi",
    ),
    rule(
        "slack_webhook",
        r"https?://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/-]{10,300}",
        "hooks.slack",
    ),
    rule("slack_token", r"\b(?:xox[abposre]|xapp)-[A-Za-z0-9-]{10,250}", "xox|xapp"),
    rule("teams_webhook", r"https://[\w.-]{1,100}\.webhook\.office\.com/webhookb2/[\w@/-]{20,400}", "webhook.office"),
    rule(
        "discord_webhook",
        r"https?://(?:\w+\.)?discord(?:app)?\.com/api/webhooks/\d{5,30}/[A-Za-z0-9_-]{20,100}",
        "discord",
    ),
    rule(
        "stripe_key",
        r"\b(?:[sr]k_(?:live|test)_[A-Za-z0-9]{16,247}|whsec_[A-Za-z0-9]{24,64})\b",
        "k_live_|k_test_|whsec_",
    ),
    rule(
        "google_api_key",
        r"\b(?:AIza[0-9A-Za-z_-]{35}|GOCSPX-[A-Za-z0-9_-]{28}|ya29\.[A-Za-z0-9_-]{20,2048}|1//0[A-Za-z0-9_-]{40,512}"
        r"|AAAA[A-Za-z0-9_-]{7}:APA91b[A-Za-z0-9_-]{100,300})" + END,  # API key, OAuth tokens, FCM server key
        "aiza|gocspx|ya29.|1//0|apa91b",
    ),
    rule("anthropic_key", r"\bsk-ant-[A-Za-z0-9_-]{20,300}", "sk-ant-"),
    rule("openai_key", r"\bsk-(?:proj-|svcacct-|admin-)?(?P<s>[A-Za-z0-9_-]{16,250})", "sk-", accept=openai),
    rule("sendgrid_key", r"\bSG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}" + END, "sg."),
    rule("twilio_key", r"\bSK[0-9a-f]{32}\b", "sk"),  # the API key SID; the account SID AC... is an identifier
    rule("mailgun_key", r"\b(?:key-[0-9a-zA-Z]{32}|[0-9a-f]{32}-[0-9a-f]{8}-[0-9a-f]{8})\b"),
    rule("mailchimp_key", r"\b[0-9a-f]{32}-us[0-9]{1,2}\b", "-us"),
    rule(
        "npm_token", r"\bnpm_[A-Za-z0-9]{36}\b|(?<![\w-])_auth[ \t]*=[ \t]*(?P<s>[A-Za-z0-9+/=]{8,512})", "npm_|_auth"
    ),
    rule("pypi_token", r"\bpypi-(?:AgEIcHlwaS5vcmc|AgENdGVzdC5weXBpLm9yZw)[A-Za-z0-9_-]{50,300}", "pypi-"),
    rule(
        "azure_storage_key",
        r"(?i:AccountKey|SharedAccessKey|SharedSecretValue)[ \t]*=[ \t]*(?P<s>[A-Za-z0-9+/=]{20,200})",
        "accountkey|sharedaccesskey|sharedsecretvalue",
    ),
    rule(
        "azure_sas_token",
        r"(?i:SharedAccessSignature[ \t]*=[ \t]*|[?&;]sig=)(?P<s>[A-Za-z0-9%+/=&:.-]{16,512})",
        "sharedaccesssignature|sig=",
    ),
    rule("azure_ad_client_secret", r"(?<![\w~.-])[\w~.]{3}\dQ~[\w~.-]{31,34}(?![\w~.-])", "q~"),
    rule(
        "jwt",
        r"\beyJ[A-Za-z0-9_-]{6,4096}\.(?:eyJ[A-Za-z0-9_-]{4,8192}\.?|[A-Za-z0-9_-]{8,8192}\.)[A-Za-z0-9_-]{0,4096}",
        "eyj",
    ),
    rule("discord_bot_token", r"\b[MNO][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38}" + END, "."),
    rule("telegram_bot_token", r"(?<![\w:])\d{8,10}:[A-Za-z0-9_-]{35}" + END, ":"),
    rule(
        "heroku_api_key",
        r"\bHRKU-[A-Za-z0-9_-]{20,80}|(?i:heroku)[ _.-]?(?i:api[ _.-]?)?(?i:key|token)[\"']?[ \t]*(?:[:=]|is)[ \t]*"
        r"[\"']?(?P<s>" + UUID + ")",
        "heroku|hrku-",
    ),
    rule("digitalocean_token", r"\bdo[opr]_v1_[a-f0-9]{64}\b", "_v1_"),
    rule("shopify_token", r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b", "shp"),
    rule("square_token", r"\b(?:sq0(?:atp|csp)-[A-Za-z0-9_-]{22,60}|EAAA[A-Za-z0-9_-]{60})" + END, "sq0|eaaa"),
    rule("vault_token", r"\bhv[sbr]\.[A-Za-z0-9_-]{24,250}" + END, "hvs.|hvb.|hvr."),
    rule("databricks_token", r"\bdapi[a-f0-9]{32}(?:-\d)?\b", "dapi"),
    rule("huggingface_token", r"\bhf_[A-Za-z0-9]{30,40}\b", "hf_"),
    rule(
        "other_provider_token",
        r"\b(?:PMAK-[a-f0-9]{24}-[a-f0-9]{34}|AT(?:ATT|CTT)3[A-Za-z0-9_=-]{50,300}|ATBB[A-Za-z0-9]{32}"
        r"|lin_(?:api|oauth)_[A-Za-z0-9]{40,64}|pul-[a-f0-9]{40}|NR(?:AK|II|JS)-[A-Za-z0-9]{19,27}"
        r"|AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}|dckr_pat_[A-Za-z0-9_-]{27,60}|LTAI[A-Za-z0-9]{12,30}"
        r"|v1\.0-[a-f0-9]{24}-[a-f0-9]{146}|access_token\$(?:production|sandbox)\$[0-9a-z]{16}\$[0-9a-f]{32}"
        r"|sgp_(?:[a-f0-9]{16}_|local_)?[a-f0-9]{40}|dt0c01\.[A-Z0-9]{24}\.[A-Z0-9]{64}|tfp_[A-Za-z0-9_.=-]{59}"
        r"|FLWSECK(?:_TEST)?-[a-h0-9]{32}-X|ico-[A-Za-z0-9]{32}|CFPAT-[A-Za-z0-9_-]{43}|fio-u-[A-Za-z0-9_=-]{64}"
        r"|(?:rubygems_[a-f0-9]{48}|(?i:CLOJARS_)[a-z0-9]{60}|rdme_[a-z0-9]{70}|shippo_(?:live|test)_[a-f0-9]{40}"
        r"|duffel_(?:test|live)_[A-Za-z0-9_=-]{43}|EZ[AT]K[A-Za-z0-9]{54}|pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_.=-]{32,64}"
        r"|sbp_[a-f0-9]{40}|sb_secret_[A-Za-z0-9_-]{20,64}|pnu_[A-Za-z0-9]{36}|sntry[su]_[A-Za-z0-9_=+/-]{40,300})"
        r"|[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70}|xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}"
        r"|xsmtpsib-[a-f0-9]{64}-[A-Za-z0-9]{16}|pat[A-Za-z0-9]{14}\.[a-f0-9]{64}|access-(?:sandbox|development|production)-"
        + UUID
        + ")"
        + END,
        "pmak-|atatt3|atctt3|atbb|lin_|pul-|nrak-|nrii-|nrjs-|age-secret-key-|dckr_pat_|ltai|v1.0-|access_token$|sgp_"
        "|dt0c01.|tfp_|flwseck|ico-|cfpat-|fio-u-|rubygems_|clojars_|rdme_|shippo_|duffel_|ezak|eztk|pscale_|sbp_"
        "|sb_secret_|pnu_|sntry|atlasv1|sib-|access-|pat",
    ),
    rule(
        "notion_token",
        r"\b(?:secret_(?P<s>[A-Za-z0-9]{43})|ntn_[A-Za-z0-9]{40,50})" + END,
        "secret_|ntn_",
        lambda m: random_body(m) if m.group("s") else m.span(),
    ),
    rule(
        "dropbox_token",
        r"\b(?:sl\.(?:u\.)?[A-Za-z0-9_=-]{130,2000}|[A-Za-z0-9]{11}AAAAAAAAAA[A-Za-z0-9_=-]{43})(?![A-Za-z0-9_=-])",
        "sl.|aaaaaaaaaa",
    ),
    rule("doppler_token", r"\bdp\.(?:pt|st|sa|ct|scim|audit)\.(?:[a-z0-9_-]{1,40}\.)?[A-Za-z0-9]{40,44}" + END, "dp."),
    rule("mandrill_key", r"\bmd-(?P<s>[A-Za-z0-9_-]{22})" + END, "md-", random_body),
    rule("mapbox_secret_token", r"\bsk\.eyJ[A-Za-z0-9_-]{20,400}\.[A-Za-z0-9_-]{20,100}" + END, "sk.eyj"),
    rule("facebook_token", r"\bEAA[B-Z0-9][A-Za-z0-9]{80,400}" + END, "eaa"),
    rule("jfrog_token", r"\b(?:AKC[a-zA-Z0-9]{60,100}|cmVmdGtuOjAxOj[A-Za-z0-9]{40,100})" + END, "akc|cmvmdgtuojaxoj"),
    rule("nuget_api_key", r"\boy2(?P<s>[a-z0-9]{43})\b", "oy2", random_body),
    rule("twitch_oauth_token", r"\boauth:(?P<s>[a-z0-9]{30})\b", "oauth:", random_body),
    rule(
        "ai_provider_key",  # Groq, Replicate, Perplexity, xAI, LangSmith, Tavily, Hugging Face organisations
        r"\b(?:gsk_[A-Za-z0-9]{52}|r8_[A-Za-z0-9]{37}|pplx-[A-Za-z0-9]{48}|xai-[A-Za-z0-9]{80}"
        r"|lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}|tvly-(?:dev-|prod-)?[A-Za-z0-9]{32}|api_org_[A-Za-z]{34})" + END,
        "gsk_|r8_|pplx-|xai-|lsv2_|tvly-|api_org_",
    ),
    rule(
        "flyio_token",
        r"(?:\bFlyV1 )?\b(?:fm(?:1[ar]|2)_[A-Za-z0-9+/=_,-]{50,4000}|fo1_[A-Za-z0-9_-]{43})(?![A-Za-z0-9+/=_,-])",
        "fm1|fm2_|fo1_",
    ),
    rule("maas_api_key", r"\bmaas_[0-9a-f]{32}_[A-Za-z0-9_-]{20,64}" + END, "maas_"),
    rule("adafruit_io_key", r"\baio_(?P<s>[A-Za-z0-9]{28})" + END, "aio_", random_body),
    rule(
        "password_hash",  # crypt(3) (bcrypt, md5, sha256/512, yescrypt), Apache apr1, argon2, Django pbkdf2
        r"(?<![\w$])(?:\$2[abxy]?\$\d\d\$[./A-Za-z0-9]{53}|\$(?:1|5|6|apr1|md5)\$(?:rounds=\d{1,7}\$)?[./A-Za-z0-9]{1,16}"
        r"\$[./A-Za-z0-9]{22,86}|\$y\$[./A-Za-z0-9]{1,8}\$[./A-Za-z0-9]{1,64}\$[./A-Za-z0-9]{43}"
        r"|\$argon2(?:id|i|d)\$v=\d{1,3}\$m=\d{1,8},t=\d{1,4},p=\d{1,3}\$[A-Za-z0-9+/]{8,128}\$[A-Za-z0-9+/]{16,128}"
        r"|pbkdf2_sha(?:1|256)\$\d{1,7}\$[A-Za-z0-9]{1,64}\$[A-Za-z0-9+/]{20,128}={0,2})(?![./A-Za-z0-9+=$])",
        "$2|$1$|$5$|$6$|$apr1$|$md5$|$y$|$argon2|pbkdf2_",
    ),
    rule(  # ~/.pgpass: host:port:database:user:password (":" and "\\" escaped with a backslash)
        "pgpass_line",
        r"(?<![\w.:*@/\\-])(?P<h>[A-Za-z0-9_.-]{1,253}|\*):(?:\d{1,5}|\*):(?:[^\s:\\]|\\.){1,63}:(?:[^\s:\\]|\\.){1,63}:"
        r"(?P<s>(?:[^\s:\\]|\\.){1,256}+)(?!:)",
        ":",
        pgpass,
    ),
    rule(  # Django, PHP, Java, Express, ASP.NET, Rails/Laravel session cookies, __Secure-/__Host- cookies
        "session_cookie",
        r"(?<![\w.-])(?i:(?:j|asp\.net_)?session(?:id|_id)?|(?:php)?sessid|connect\.sid|laravel_session"
        r"|_[a-z0-9]{1,30}_session|__(?:secure|host)-[a-z0-9_.-]{1,40})[ \t]{0,4}=[ \t]{0,4}(?P<s>[^\s;,\"']{8,4096})",
        "sess|connect.sid|__secure-|__host-",
        value_check(token_like),
    ),
    rule(  # Google's app passwords: four groups of four letters
        "app_password",
        r"(?i:\b(?:app|application)[ _-]?(?:specific[ _-]?)?pass(?:word|wd|code)?s?\b)(?:[ \t]{1,4}(?:for|to|of|on)"
        r"[ \t]{1,4}[^\n:=]{1,40}?)?[ \t]{0,4}(?:[:=]|[ \t](?:is|was|is now))[ \t]{0,4}[\"'`]?"
        r"(?P<s>[a-zA-Z]{4}(?P<g>[ -]?)[a-zA-Z]{4}(?P=g)[a-zA-Z]{4}(?P=g)[a-zA-Z]{4})(?![A-Za-z])",
        "app",
        app_password,
    ),
    rule(
        "docker_config_auth",
        r"(?<![\w-])[\"']?(?P<k>auth|identitytoken|\.dockerconfigjson|\.dockercfg)[\"']?[ \t]{0,4}[:=][ \t]{0,4}[\"']?"
        r"(?P<s>" + B64 + r"{8,65536}={0,2})(?![A-Za-z0-9+/=])",
        "auth|identitytoken|.docker",
        docker_auth,
    ),
    rule(  # Redis, OpenLDAP, nslcd, wpa_supplicant
        "config_password",
        r"(?<![\w-])(?i:requirepass|masterauth|bindpw|rootpw|olcRootPW|ldap_bind_pw|bind_pw|wpa_passphrase|psk)"
        r"(?:[ \t]{0,4}[:=][ \t]{0,4}|[ \t]{1,4})[\"']?(?P<s>[^\s\"']{4,256})",
        "requirepass|masterauth|bindpw|rootpw|bind_pw|wpa_passphrase|psk",
        value_check(token_like),
    ),
    rule(
        "vault_unseal_key",
        r"(?i:\b(?:unseal|recovery) key(?: \d{1,2})?:)[ \t]{0,8}(?P<s>" + B64 + r"{40,100}={0,2})(?![A-Za-z0-9+/=])",
        "unseal key|recovery key",
    ),
    rule(  # a PKCS#12 / JKS keystore, base64, under a key that names one (keystore.p12: MII...)
        "keystore",
        r"(?<![\w.-])[\w.-]{0,60}(?i:\.p12|\.pfx|\.jks|keystore|pkcs12|pfx)[\"']?[ \t]{0,4}[:=][ \t]{0,4}[\"']?"
        r"(?P<s>(?:MII|/u3\+7Q|zs7OzQ)" + B64 + r"{60,65536}={0,2})",
        "p12|pfx|jks|keystore|pkcs12",
    ),
    rule(
        "url_credentials",  # the password runs to the last "@" of the authority: "user:p@ss@host"
        r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,30}://[^\s:/?#@\"'<>\[\]]{0,128}:(?P<s>[^\s/?#\"'<>]{1,256})@",
        "://",
        accept=value_check(lambda v: not PLACEHOLDER.fullmatch(v) and v.lower() not in ("password", "pass", "pwd")),
    ),
    rule(
        "command_line_password",  # mysql -pX, sshpass -p X, docker login -p X, curl -u user:X
        r"\b(?:(?:mysql\w{0,10}|mariadb\w{0,10})\b[^\n]{0,100}?[ \t]-p(?=[^\s-])|(?:sshpass|(?:docker|podman) login)\b"
        r"[^\n]{0,100}?[ \t](?:-p|--password)[ \t=]+|curl\b[^\n]{0,100}?[ \t](?:-u|--user)[ \t=]+[\"']?[^\s:\"']{1,64}:)"
        r"[\"']?(?P<s>[^\s\"']{1,128})",
        "mysql|mariadb|sshpass| login|curl",
        accept=value_check(password_like),
    ),
    rule("basic_auth", r"\b(?i:basic)[ \t]+(?P<s>" + B64 + r"{6,4096}={0,2})(?![A-Za-z0-9+/=])", "basic", basic),
    rule(
        "bearer_token",
        r"\b(?i:bearer|(?:authorization|x-auth-token)[\"']?[ \t]*[:=][ \t]*[\"']?(?:token|bot|apikey|api-key|key|ssws)?)"
        r"[ \t]+(?P<s>[A-Za-z0-9._~+/=-]{8,4096})",
        "bearer|authorization|x-auth-token",
        accept=value_check(token_like),
    ),
    rule(
        "credit_card",
        r"(?<![\w.+-])(?:\d{4}(?P<g>[ .-])\d{4}(?P=g)\d{4}(?P=g)\d{1,7}|\d{4}(?P<h>[ -])\d{6}(?P=h)\d{4,5}|\d{13,19})"
        r"(?!\d)",
        accept=card,
    ),
    rule(
        "us_ssn",
        r"(?<![\w-])(?P<s>(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4})(?![\w-])"
        r"|(?i:\bssn|\bsocial security(?: number| no\.?)?)\b[^\w\n]{0,5}(?:is[ \t]+)?"
        r"(?P<t>(?!000|666|9\d\d)\d{3}(?P<d>[. ]?)(?!00)\d{2}(?P=d)(?!0000)\d{4})\b",
        accept=lambda m: m.span("s") if m.group("s") else m.span("t"),
    ),
    rule(
        "connection_string_password",
        r"(?<![\w])(?i:password|pwd)[ \t]*=[ \t]*(?P<s>[^;\r\n\"']{1,256}?)[ \t]*;",
        "password|pwd",
        accept=value_check(password_like),
    ),
    rule(
        "secret_assignment",  # also inside escaped JSON: {\"password\": \"x\"}
        KEY + r"[ \t]*(?::=|=>|[:=\uff1a])[ \t]*(?:\\{0,3}(?P<q>[\"'`])(?P<s>[^\"'`\r\n]{1,256}?)(?P=q)"
        r"|(?P<u>[^\s\"'`,;&<>)}\]]{1,4096}))",
        "|".join((*PASSWORD_WORDS, "secret", "token", "cred", "key", "pat")),
        accept=assignment,
    ),
    rule(
        "password_phrase",
        r"(?i)\b(?:password|passphrase|passwort|kennwort|contrase(?:ñ|n)a|senha|mot de passe|pass ?code)\b"
        r"(?:[ \t]+(?:for|to|of|on)[ \t]+[^\n]{1,40}?)?[ \t]+(?:is|was|is now|is set to|will be|ist|es|est|é)"
        r"[ \t]*:?[ \t]+[\"'`]?(?P<s>[^\s\"'`]{3,128})",
        "|".join((*PASSWORD_WORDS, "mot de passe")),
        accept=value_check(lambda v: password_like(v) and not english(v)),
    ),
    rule(
        "secret_after_keyword",
        r"(?i)\b(?:password|passwd|pwd|passphrase|secret|token|(?:api|access|secret|private|client|auth|license)[ _-]?"
        r"(?:key|secret|token)|" + PW_WORDS + r")(?:[ \t]*[:=][ \t]*|[ \t]+(?:(?:is now|is|was)[ \t]+)?"
        r"|(?<=[^\x00-\x7f])[は是][ \t]*)[\"']?(?P<s>[^\s\"',;]{6,128})",
        "|".join((*PASSWORD_WORDS, "secret", "key", "token")),
        accept=value_check(lambda v: bool(LETTERS_AND_DIGITS.fullmatch(v)) and not placeholder(v)),
    ),
)

SECRET_KINDS: tuple[str, ...] = tuple(dict.fromkeys(r.kind for r in RULES))
"""The names of what :func:`redact` detects, in the order the rules run."""
