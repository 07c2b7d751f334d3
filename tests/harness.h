/* Minimal unit-test harness: each test file is one binary whose main()
 * calls RUN() for every test and returns harness_done(). A failed CHECK
 * prints file:line and the expression and ends that test. */
#ifndef ARCVMM_TEST_HARNESS_H
#define ARCVMM_TEST_HARNESS_H
#include <stdio.h>
#include <string.h>

static int harness_passed, harness_failed, harness_cur_failed;

#define CHECK(cond) do { if (!(cond)) { \
        fprintf(stderr, "  %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        harness_cur_failed = 1; return; } } while (0)
#define CHECK_EQ(a, b) do { long long _a = (long long)(a), _b = (long long)(b); \
        if (_a != _b) { fprintf(stderr, "  %s:%d: CHECK_EQ failed: %s == %s (0x%llx vs 0x%llx)\n", \
        __FILE__, __LINE__, #a, #b, _a, _b); harness_cur_failed = 1; return; } } while (0)

#define RUN(fn) do { harness_cur_failed = 0; fn(); \
        if (harness_cur_failed) { harness_failed++; fprintf(stderr, "FAIL %s\n", #fn); } \
        else { harness_passed++; printf("ok   %s\n", #fn); } } while (0)

static inline int harness_done(void)
{
    printf("%d passed, %d failed\n", harness_passed, harness_failed);
    return harness_failed ? 1 : 0;
}
#endif
