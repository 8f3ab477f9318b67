/*
 * err.c - tern_strerror() and friends, generated from TERN_ERROR_LIST.
 *
 * One table indexed by -code; codes are dense from -1 downwards, which a unit test
 * checks, so lookup is a bounds check and an index.
 */
#include "tern/tern.h"

struct err_entry {
    const char *name;
    const char *text;
    tern_alert alert;
};

#define ERR_ROW(name, value, text, alert) [-(value)] = {#name, text, TERN_ALERT_##alert},
static const struct err_entry err_table[] = {
    [0] = {"TERN_OK", "success", TERN_ALERT_NONE},
    TERN_ERROR_LIST(ERR_ROW)
};
#undef ERR_ROW

#define ERR_COUNT (sizeof err_table / sizeof err_table[0])

static const struct err_entry *err_find(int err)
{
    if (err > 0 || (unsigned)-err >= ERR_COUNT || err_table[-err].text == NULL)
        return NULL;
    return &err_table[-err];
}

/* see tern.h */
const char *tern_strerror(int err)
{
    const struct err_entry *e = err_find(err);
    return e ? e->text : "unknown error";
}

/* see tern.h */
const char *tern_err_name(int err)
{
    const struct err_entry *e = err_find(err);
    return e ? e->name : "TERN_ERR_UNKNOWN";
}

/* see tern.h */
tern_alert tern_err_alert(int err)
{
    const struct err_entry *e = err_find(err);
    return e ? e->alert : TERN_ALERT_INTERNAL_ERROR;
}

/* see tern.h */
const char *tern_alert_name(int alert)
{
    switch (alert) {
    case TERN_ALERT_NONE: return "none";
    case TERN_ALERT_CLOSE_NOTIFY: return "close_notify";
    case TERN_ALERT_UNEXPECTED_MESSAGE: return "unexpected_message";
    case TERN_ALERT_BAD_RECORD_MAC: return "bad_record_mac";
    case TERN_ALERT_RECORD_OVERFLOW: return "record_overflow";
    case TERN_ALERT_HANDSHAKE_FAILURE: return "handshake_failure";
    case TERN_ALERT_BAD_CERTIFICATE: return "bad_certificate";
    case TERN_ALERT_UNSUPPORTED_CERTIFICATE: return "unsupported_certificate";
    case TERN_ALERT_CERTIFICATE_REVOKED: return "certificate_revoked";
    case TERN_ALERT_CERTIFICATE_EXPIRED: return "certificate_expired";
    case TERN_ALERT_CERTIFICATE_UNKNOWN: return "certificate_unknown";
    case TERN_ALERT_ILLEGAL_PARAMETER: return "illegal_parameter";
    case TERN_ALERT_UNKNOWN_CA: return "unknown_ca";
    case TERN_ALERT_ACCESS_DENIED: return "access_denied";
    case TERN_ALERT_DECODE_ERROR: return "decode_error";
    case TERN_ALERT_DECRYPT_ERROR: return "decrypt_error";
    case TERN_ALERT_PROTOCOL_VERSION: return "protocol_version";
    case TERN_ALERT_INSUFFICIENT_SECURITY: return "insufficient_security";
    case TERN_ALERT_INTERNAL_ERROR: return "internal_error";
    case TERN_ALERT_INAPPROPRIATE_FALLBACK: return "inappropriate_fallback";
    case TERN_ALERT_USER_CANCELED: return "user_canceled";
    case TERN_ALERT_NO_RENEGOTIATION: return "no_renegotiation";
    case TERN_ALERT_MISSING_EXTENSION: return "missing_extension";
    case TERN_ALERT_UNSUPPORTED_EXTENSION: return "unsupported_extension";
    case TERN_ALERT_UNRECOGNIZED_NAME: return "unrecognized_name";
    case TERN_ALERT_UNKNOWN_PSK_IDENTITY: return "unknown_psk_identity";
    case TERN_ALERT_CERTIFICATE_REQUIRED: return "certificate_required";
    case TERN_ALERT_NO_APPLICATION_PROTOCOL: return "no_application_protocol";
    default: return "unknown_alert";
    }
}
