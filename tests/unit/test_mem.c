/* Guest memory mappings: KSM merging (MADV_MERGEABLE, VmFlags "mg" in
 * /proc/self/smaps) is opt-in. */
#include <errno.h>
#include <sys/prctl.h>

#include "harness.h"
#include "mem/mem.h"
#include "mem/place.h"
#include "smaps.h"

#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE 67
#endif

static int map_two(struct guest_mem *m, bool merge)
{
    memset(m, 0, sizeof(*m));
    m->r[0] = (struct mem_region){ .gpa = 0, .size = 8 << 20 };
    m->r[1] = (struct mem_region){ .gpa = 1ULL << 32, .size = 4 << 20 };
    m->n = 2;
    m->merge = merge;
    return mem_map(m);
}

static void t_not_mergeable_by_default(void)
{
    struct guest_mem m;
    CHECK_EQ(map_two(&m, false), 0);
    for (int i = 0; i < m.n; i++)
        CHECK_EQ(smaps_has_flag(m.r[i].hva + m.r[i].size / 2, "mg"), 0);
    mem_unmap(&m);
}

static void t_mergeable_when_asked(void)
{
    struct guest_mem m;
    CHECK_EQ(map_two(&m, true), 0);
    for (int i = 0; i < m.n; i++)
        CHECK_EQ(smaps_has_flag(m.r[i].hva + m.r[i].size / 2, "mg"), 1);
    mem_unmap(&m);
}

/* A process in KSM's merge-any mode (systemd MemoryKSM=) gets every new
 * mapping marked mergeable; guest RAM is still not merged unless asked. */
/* Under ASan the process holds a 16 TiB shadow mapping: entering and
 * leaving merge-any mode walks it page by page (minutes). The mapping's
 * own flags are checked there in the other tests; this one runs in the
 * plain build. */
#if defined(__SANITIZE_ADDRESS__)
#define MERGE_ANY_TRY 0
#else
#define MERGE_ANY_TRY 1
#endif

static void t_not_mergeable_in_merge_any_mode(void)
{
    if (!MERGE_ANY_TRY) {
        printf("  (merge-any mode not entered in the ASan build; see above)\n");
    } else if (prctl(PR_SET_MEMORY_MERGE, 1, 0, 0, 0) < 0) {
        printf("  (merge-any mode unavailable here: %s; default mapping checked only)\n",
               strerror(errno));
    }
    struct guest_mem m;
    int r = map_two(&m, false);
    int flag = r == 0 ? smaps_has_flag(m.r[0].hva, "mg") : -1;
    if (r == 0)
        mem_unmap(&m);
    if (MERGE_ANY_TRY)
        prctl(PR_SET_MEMORY_MERGE, 0, 0, 0, 0);
    CHECK_EQ(r, 0);
    CHECK_EQ(flag, 0);
}

/* Boot-image placement (mem/place.h), shared by both boards. */
static void t_place_top(void)
{
    const uint64_t K = 0x1000, M = 1ull << 20;
    /* No avoid range: the highest aligned start. */
    CHECK_EQ(mem_place_top(M, 16 * M, 0, 0, 3 * K, K), 16 * M - 3 * K);
    CHECK_EQ(mem_place_top(M, 16 * M, 0, 0, 3 * K + 1, K), 16 * M - 4 * K);
    CHECK_EQ(mem_place_top(M, 16 * M, 0, 0, 100, 64 * K), 16 * M - 64 * K);
    /* Exactly the window, and one byte more. */
    CHECK_EQ(mem_place_top(M, 2 * M, 0, 0, M, K), M);
    CHECK_EQ(mem_place_top(M, 2 * M, 0, 0, M + 1, K), 0);
    /* Alignment pushes below lo: none. */
    CHECK_EQ(mem_place_top(M + 1, 2 * M, 0, 0, M - 1, K), 0);
    /* Avoided range at the top: below it; in the middle: above it first. */
    CHECK_EQ(mem_place_top(M, 16 * M, 8 * M, 16 * M, M, K), 7 * M);
    CHECK_EQ(mem_place_top(M, 16 * M, 4 * M, 8 * M, M, K), 15 * M);
    CHECK_EQ(mem_place_top(M, 16 * M, 4 * M, 15 * M + 1, M, K), 3 * M);
    /* Covering everything: none. An empty or outside range avoids nothing. */
    CHECK_EQ(mem_place_top(M, 16 * M, 0, 32 * M, K, K), 0);
    CHECK_EQ(mem_place_top(M, 16 * M, 5 * M, 5 * M, M, K), 15 * M);
    CHECK_EQ(mem_place_top(M, 16 * M, 20 * M, 30 * M, M, K), 15 * M);
    /* Bad arguments. */
    CHECK_EQ(mem_place_top(M, 16 * M, 0, 0, 0, K), 0);
    CHECK_EQ(mem_place_top(M, 16 * M, 0, 0, K, 3 * K), 0);
    CHECK_EQ(mem_place_top(16 * M, M, 0, 0, K, K), 0);
    CHECK_EQ(mem_place_top(M, UINT64_MAX, 0, 0, UINT64_MAX, K), 0);
    /* Over RAM regions: the highest fit in any, each clipped to [lo, hi). */
    struct guest_mem m = { .n = 2 };
    m.r[0] = (struct mem_region){ .gpa = 0, .size = 3ull << 30 };
    m.r[1] = (struct mem_region){ .gpa = 4ull << 30, .size = 1ull << 30 };
    CHECK_EQ(mem_place_top_ram(&m, M, 4ull << 30, 0, 0, M, K), (3ull << 30) - M);
    CHECK_EQ(mem_place_top_ram(&m, M, 8ull << 30, 0, 0, M, K), (5ull << 30) - M);
    CHECK_EQ(mem_place_top_ram(&m, M, 8ull << 30, 4ull << 30, 5ull << 30, M, K), (3ull << 30) - M);
    CHECK_EQ(mem_place_top_ram(&m, M, 8ull << 30, 0, 0, 2ull << 30, K), (1ull << 30));
}

int main(void)
{
    RUN(t_place_top);
    RUN(t_not_mergeable_by_default);
    RUN(t_mergeable_when_asked);
    RUN(t_not_mergeable_in_merge_any_mode);
    return harness_done();
}
