/*
 * test_err.c - the error list: dense codes, texts, names and alerts.
 */
#include "tern/tern.h"
#include "test.h"

TEST(codes_are_dense_and_described)
{
    int count = 0;
#define COUNT(name, value, text, alert) count++;
    TERN_ERROR_LIST(COUNT)
#undef COUNT
    for (int code = -1; code >= -count; code--) {
        CHECK(strcmp(tern_strerror(code), "unknown error") != 0);
        CHECK(strncmp(tern_err_name(code), "TERN_ERR_", 9) == 0);
    }
    CHECK(strcmp(tern_strerror(-count - 1), "unknown error") == 0);
    CHECK(strcmp(tern_strerror(1), "unknown error") == 0);
    CHECK(strcmp(tern_strerror(TERN_OK), "success") == 0);
}

TEST(code_implies_alert)
{
    CHECK_EQ(tern_err_alert(TERN_ERR_DECODE), TERN_ALERT_DECODE_ERROR);
    CHECK_EQ(tern_err_alert(TERN_ERR_BAD_MAC), TERN_ALERT_BAD_RECORD_MAC);
    CHECK_EQ(tern_err_alert(TERN_ERR_CERT_UNTRUSTED), TERN_ALERT_UNKNOWN_CA);
    CHECK_EQ(tern_err_alert(TERN_ERR_BUF), TERN_ALERT_NONE);
    CHECK_EQ(tern_err_alert(-9999), TERN_ALERT_INTERNAL_ERROR);
    CHECK(strcmp(tern_err_name(TERN_ERR_DECODE), "TERN_ERR_DECODE") == 0);
    CHECK(strcmp(tern_alert_name(TERN_ALERT_DECODE_ERROR), "decode_error") == 0);
    CHECK(strcmp(tern_alert_name(255), "unknown_alert") == 0);
}
