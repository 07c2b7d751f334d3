/* PC reset control register at port 0xCF9. See reset_cf9.h. */
#include "dev/reset_cf9.h"

#include <string.h>

#define RESET_CF9_DEFINED (RESET_CF9_SYS_RST | RESET_CF9_RST_CPU | RESET_CF9_FULL_RST)

void reset_cf9_init(struct reset_cf9 *rc, const struct reset_cf9_ops *ops)
{
    memset(rc, 0, sizeof(*rc));
    if (ops)
        rc->ops = *ops;
}

void reset_cf9_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
    struct reset_cf9 *rc = opaque;

    if (len != 1 || offset != 0) {
        if (!is_write)
            memset(data, 0xff, len);
        return;
    }
    if (!is_write) {
        data[0] = __atomic_load_n(&rc->value, __ATOMIC_SEQ_CST);
        return;
    }
    __atomic_store_n(&rc->value, (uint8_t)(data[0] & RESET_CF9_DEFINED), __ATOMIC_SEQ_CST);
    if ((data[0] & RESET_CF9_RST_CPU) && rc->ops.reset)
        rc->ops.reset(rc->ops.opaque);
}
