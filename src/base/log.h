/* Logging. Messages go to stderr prefixed with "arcvmm: ". */
#ifndef ARCVMM_LOG_H
#define ARCVMM_LOG_H
#include <stdarg.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level lvl);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)   log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
/* A guest did something invalid: logged as a warning, never fatal. */
#define log_guest(...) log_msg(LOG_WARN, "guest error: " __VA_ARGS__)
#endif
