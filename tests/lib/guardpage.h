/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Buffers that end on an inaccessible page, so that a parser reading or
 * writing even one byte past what it was given faults in a plain build, not
 * only under ASan (the mutation check, scripts/mutate-bounds, runs the plain
 * unit binary).
 */
#ifndef QVMI_TEST_GUARDPAGE_H
#define QVMI_TEST_GUARDPAGE_H

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct qvmi_guarded {
	uint8_t *map;
	size_t maplen;
	uint8_t *p; /* len bytes, the last one just before the guard page */
};

/* A copy of data[0..len) (data may be NULL: zeros) ending at a PROT_NONE
 * page; len up to 1 MiB.  Returns the copy or NULL. */
static inline uint8_t *qvmi_guarded_new(struct qvmi_guarded *g,
					const void *data, size_t len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t body = (len + pg - 1) / pg * pg;

	g->maplen = body + pg;
	g->map = mmap(NULL, g->maplen, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->map == MAP_FAILED || mprotect(g->map + body, pg, PROT_NONE)) {
		g->map = NULL;
		return NULL;
	}
	g->p = g->map + body - len;
	if (data && len)
		memcpy(g->p, data, len);
	return g->p;
}

static inline void qvmi_guarded_free(struct qvmi_guarded *g)
{
	if (g->map)
		munmap(g->map, g->maplen);
	g->map = NULL;
}

#endif
