/* Test helper: the VmFlags of this process's mapping that holds an address,
 * from /proc/self/smaps (e.g. "mg" is KSM's mergeable flag). */
#ifndef ARCVMM_TEST_SMAPS_H
#define ARCVMM_TEST_SMAPS_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Copy the VmFlags of the mapping containing addr into flags (" rd wr mg");
 * false if there is no such mapping or no VmFlags line. */
static inline bool smaps_vmflags(const void *addr, char *flags, size_t n)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return false;
    char line[512];
    bool in = false, found = false;
    uintptr_t a = (uintptr_t)addr;
    while (fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        size_t hex = strspn(line, "0123456789abcdef");
        /* A mapping's header is "lo-hi perms ..."; field names are
         * capitalised ("Size:", "VmFlags:"). */
        if (hex > 0 && line[hex] == '-' && sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
            in = a >= lo && a < hi;
            continue;
        }
        if (in && !strncmp(line, "VmFlags:", 8)) {
            snprintf(flags, n, "%s", line + 8);
            flags[strcspn(flags, "\n")] = '\0';
            found = true;
            break;
        }
    }
    fclose(f);
    return found;
}

/* Does the mapping containing addr carry VmFlags token flag (e.g. "mg")?
 * -1 if the mapping was not found. */
static inline int smaps_has_flag(const void *addr, const char *flag)
{
    char flags[512], tok[8];
    if (!smaps_vmflags(addr, flags, sizeof(flags)))
        return -1;
    snprintf(tok, sizeof(tok), " %s", flag);
    size_t tl = strlen(tok);
    for (const char *p = flags; (p = strstr(p, tok)) != NULL; p += tl)
        if (p[tl] == ' ' || p[tl] == '\0')
            return 1;
    return 0;
}
#endif
