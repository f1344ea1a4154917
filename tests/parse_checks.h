/* Check helpers for the tests of parsers that share the shape
 * int parse(const char *text, size_t len, T **out, char *err, size_t errlen). */
#ifndef MLB_TESTS_PARSE_CHECKS_H
#define MLB_TESTS_PARSE_CHECKS_H

#include <check.h>
#include <string.h>

/* PARSE of TEXT fails, leaves its output NULL and says WANT. */
#define CHECK_PARSE_FAILS(PARSE, T, TEXT, WANT)                                                    \
    do {                                                                                           \
        T *out_ = NULL;                                                                            \
        char err_[256] = "";                                                                       \
        const char *text_ = (TEXT), *want_ = (WANT);                                               \
        ck_assert_int_lt(PARSE(text_, strlen(text_), &out_, err_, sizeof err_), 0);                \
        ck_assert_ptr_null(out_);                                                                  \
        ck_assert_msg(strstr(err_, want_), "'%s' lacks '%s'", err_, want_);                        \
    } while (0)

#endif
