/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A fake QEMU for qvmi_attach_qmp in this very process (tests/unit/
 * test-attach.c, test-layout-live.c): a thread serves QMP on a unix
 * socket (so SO_PEERCRED names our pid), its "guest RAM" is a memfd we map
 * shared (or private), and "pc.bios" is an anonymous buffer.  procmem and
 * shm then really read our own memory, and xp is answered from the same
 * bytes, so all three sources must agree.
 *
 * ram0 is 6 MiB split like pc with RAM above 4G, plus a 256 KiB BIOS;
 * file offsets as QEMU 7.2 prints them ("@offset").  With prelaunch set
 * it serves the view at -S (the top of pc.bios at 0xe0000); with dimm
 * set, a hot-plugged 1 MiB DIMM at DIMM_GPA.
 */
#ifndef QVMI_TEST_FAKE_QEMU_H
#define QVMI_TEST_FAKE_QEMU_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qvmi.h"

enum {
	RAM_SIZE = 6 << 20,
	BIOS_SIZE = 256 << 10,
};
static const uint64_t HIGH_GPA = 0x100000000ull, BIOS_GPA = 0xfffc0000;
static const uint64_t DIMM_GPA = 0x180000000ull;

struct fake {
	char dir[64], path[108];
	uint8_t *dimm; /* non-NULL: plugged */
	bool prelaunch; /* serve mtree_prelaunch and status "prelaunch" */
	const char *event; /* sent (once) before the next reply */
	int mtrees; /* "info mtree -f" served */
	int lfd, memfd;
	uint8_t *ram; /* QEMU's "mapping" of the memfd */
	uint8_t *bios;
	bool no_ram; /* serve an mtree without RAM */
	/* The fake runs in the test process, which is not QEMU: like
	 * qvmid's proxy it names "QEMU" (us) in query-qvmi, unless this is
	 * set (some other non-QEMU peer). */
	bool no_query_qvmi;
	int gpa2hva, queries; /* requests seen */
	int conns, max_conns; /* connections served, allowed (default 1) */
	pthread_t th;
};

/* Host address of gpa in the fake QEMU (as running), or NULL. */
uint8_t *fakeq_hva(struct fake *f, uint64_t gpa);
/* The same, in the view served now (prelaunch, dimm). */
uint8_t *fakeq_hva_now(struct fake *f, uint64_t gpa);
/* Set up f (a socket in a new directory, the layout cache there too). */
void fakeq_start(struct fake *f, bool shared_ram);
/* After fakeq_start and any setting of f: serve. */
void fakeq_run(struct fake *f);
/* Path of the one layout file in the test's cache directory, or "". */
void fakeq_cache_file(struct fake *f, char *buf, size_t size);
void fakeq_stop(struct fake *f);
/* fakeq_stop for a serving thread already joined. */
void fakeq_stop_nojoin(struct fake *f);
struct qvmi_ctx *fakeq_attach(struct fake *f, unsigned int kinds, int *err);
/* Name of the source serving gpa, or "none". */
const char *fakeq_source_at(struct qvmi_ctx *ctx, uint64_t gpa);
/* The same bytes, whichever source serves them. */
void fakeq_check_reads(struct fake *f, struct qvmi_ctx *ctx);

#endif
