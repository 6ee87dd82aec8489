/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The base every layer shares, below core/internal.h: visibility and
 * format attributes, small macros, the clocks, the error setters (over an
 * opaque struct qvmi_ctx), FNV-1a, the hex digit table, and the few plain
 * types that cross layers.  The proto/ headers include this and not
 * core/internal.h, so what includes them (qvmid) does not see the context's
 * fields; core/internal.h includes it, so nothing else changes.
 */
#ifndef QVMI_CORE_BASE_H
#define QVMI_CORE_BASE_H

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "qvmi.h"

#define QVMI_HIDDEN __attribute__((visibility("hidden")))
#define QVMI_PRINTF(a, b) __attribute__((format(printf, a, b)))

#define QVMI_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define QVMI_MIN(a, b) ((a) < (b) ? (a) : (b))
#define QVMI_MAX(a, b) ((a) > (b) ? (a) : (b))

enum {
	QVMI_PAGE_SIZE = 4096,
	QVMI_ERRMSG_MAX = 256,
	/* Shared-RAM reads at least this long skip holes of the backing file
	 * instead of faulting its pages in. */
	QVMI_BULK_MIN = 64 * 1024,
};

/* A segment register's hidden part, as QEMU keeps it (SegmentCache) and
 * writes it into its dump's "QEMU" notes. */
struct qvmi__seg {
	uint32_t selector, limit, flags;
	uint64_t base;
};
struct qvmi__segs {
	struct qvmi__seg es, cs, ss, ds, fs, gs, ldt, tr;
};

/* CLOCK_MONOTONIC in milliseconds and nanoseconds: every deadline and
 * timeout in the library and qvmid counts on this one clock. */
static inline int64_t qvmi__mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline uint64_t qvmi__mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The coarse clock (a tick, ~4 ms, with no vDSO read of the TSC), for
 * rate limits checked on every access; never compared with the above. */
static inline int64_t qvmi__mono_coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Set the last error and return err (negative errno). */
QVMI_HIDDEN int qvmi__err(struct qvmi_ctx *ctx, int err, const char *fmt, ...)
	QVMI_PRINTF(3, 4);
/* -EFAULT at a guest address; formats without allocating. */
QVMI_HIDDEN int qvmi__fault(struct qvmi_ctx *ctx, uint64_t addr,
			    const char *what);
QVMI_HIDDEN void qvmi__clear_err(struct qvmi_ctx *ctx);
QVMI_HIDDEN void qvmi__log(struct qvmi_ctx *ctx, enum qvmi_log_level level,
			   const char *fmt, ...) QVMI_PRINTF(3, 4);

/*
 * Where guest-physical memory lives in a file, so the host can move it
 * with sendfile()/splice(): no copy through user space, and a hole of a
 * sparse file reads as zeros without being allocated, which a touch
 * through the mapping would do (Linux 6.1 tmpfs).
 */
struct qvmi_pa_file {
	int fd; /* borrowed: valid until the map changes */
	uint64_t off; /* file offset of the guest-physical address */
	size_t len; /* bytes from there on in this file, 1..asked */
};

/* FNV-1a, 64-bit, from h (QVMI_FNV_INIT to start): the checksum of the
 * cache files (layout, memo) and the layout's witness.  Not a defence
 * against a crafted file: those are refused by owner and mode first. */
#define QVMI_FNV_INIT 0xcbf29ce484222325ull
static inline uint64_t qvmi__fnv1a(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* A hex digit's value plus one, 0 for any other byte: the one digit table
 * of every parser (QMP/HMP text, RSP packets, ISF escapes, /proc maps). */
QVMI_HIDDEN extern const uint8_t qvmi__hex_digit[256];
/* c's value as a hex digit, or -1. */
static inline int qvmi__hexval(int c)
{
	return (int)qvmi__hex_digit[(uint8_t)c] - 1;
}

#endif
