/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-pmem*.c: the pmemaccess section's shared state. */
#ifndef QVMI_BENCH_PMEM_H
#define QVMI_BENCH_PMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qvmi.h"

enum { BPM_MIB = 1 << 20, BPM_PAGE = 4096, BPM_ROUNDS = 16 };

/* round trip rows: per-request samples */
enum {
	BPM_RT_PMEM, /* raw client -> server, touched page */
	BPM_RT_ECHO, /* raw client -> echo */
	BPM_RT_LIB, /* libqvmi pmem source -> server, touched page */
	BPM_RT_HOLE, /* raw client -> server, never-touched page */
	BPM_RT_ROWS
};

/* throughput rows: best round's seconds */
enum {
	BPM_TP_PMEM,
	BPM_TP_LIB,
	BPM_TP_ECHO,
	BPM_TP_ONEWAY_MAP,
	BPM_TP_ONEWAY_FILE,
	BPM_TP_MEMCPY,
	BPM_TP_ROWS
};

/* A 1 MiB range of guest RAM the guest touched throughout. */
struct bpm_range {
	uint64_t gpa;
	const uint8_t *host; /* in the RAM mapping */
	uint64_t file_off; /* in the RAM file */
};

struct bpm_oneway {
	int fd, file_fd; /* file_fd < 0: send from the mapping */
	const struct bpm_range *at;
	size_t nat, n;
};

struct bpm_echo {
	int fd;
	uint8_t *buf; /* replies outside [lo, hi) */
	const uint8_t *host; /* guest RAM [lo, hi) */
	uint64_t lo, hi;
};

struct bpm {
	int pfd, efd; /* raw client sockets to the server and the echo */
	struct qvmi_ctx *pc; /* a ctx reading through libqvmi's pmem source */
	uint64_t *data, *holes, *big; /* touched pages, holes, 1 MiB gpas */
	size_t nd, nh, nbig;
	struct bpm_range *ranges;
	struct bpm_oneway ow_map, ow_file;
	size_t n4k, n1m;
	double *lat[BPM_RT_ROWS];
	double best[BPM_TP_ROWS];
};

int bpm_measure(struct bpm *b);
void *bpm_echo_main(void *arg); /* arg: struct bpm_echo */
void bpm_report(struct bpm *b, size_t n);

#endif
