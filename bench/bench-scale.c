// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Scaling with RAM size (issue 18): qvmi_find_pa over sparse RAM files of
 * 512 MiB, 4 GiB and 16 GiB in /dev/shm, holding what guests of those
 * sizes hold after boot (115 MiB, 300 MiB, 462 MiB: measured on the demo
 * guest under QEMU 7.2), in runs of 64 KiB to 2 MiB spread over the file
 * (a 16 GiB guest uses under 1 GiB of host memory until written).  Each
 * next to its limit in the same run: a scan that skips the file's holes
 * (SEEK_DATA/SEEK_HOLE, pread of the data, memmem), the cost of the data
 * alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "core/internal.h"
#include "source/sources.h"

enum { CHUNK = 1 << 20, RUNS = 5 };

static const char needle[] = "qvmi-bench-needle-not-there";

/* Fill about data bytes of the file in runs of 64 KiB..2 MiB at random
 * places (non-zero bytes: tmpfs allocates them). */
static int fill(int fd, uint64_t size, uint64_t data)
{
	uint8_t *buf = malloc(2 << 20);
	uint64_t seed = 0x5eed, done = 0;

	if (!buf)
		return -1;
	for (size_t i = 0; i < (2 << 20); i++)
		buf[i] = (uint8_t)(i * 131 + 7) | 1;
	while (done < data) {
		uint64_t run = (64 << 10) << (bench_rand(&seed) % 6);
		uint64_t at = (bench_rand(&seed) % (size / run)) * run;

		if (pwrite(fd, buf, run, (off_t)at) != (ssize_t)run) {
			free(buf);
			return -1;
		}
		done += run;
	}
	free(buf);
	return 0;
}

/* The limit: read only the data, find the needle in it. */
static uint64_t hole_scan(int fd, uint64_t size, uint8_t *buf)
{
	uint64_t hits = 0;
	off_t pos = 0;

	while ((uint64_t)pos < size) {
		off_t d = lseek(fd, pos, SEEK_DATA), h;

		if (d < 0)
			break;
		h = lseek(fd, d, SEEK_HOLE);
		for (pos = d; pos < h;) {
			size_t n = (size_t)QVMI_MIN((off_t)CHUNK, h - pos);

			if (pread(fd, buf, n, pos) != (ssize_t)n)
				return hits;
			hits += !!memmem(buf, n, needle, sizeof(needle) - 1);
			pos += (off_t)n;
		}
	}
	return hits;
}

static int count_hit(uint64_t gpa, void *arg)
{
	(void)gpa;
	(*(uint64_t *)arg)++;
	return 0;
}

static double median(double *v, int n)
{
	bench_sort(v, (size_t)n);
	return v[n / 2];
}

/* qvmid's throughput over the same file: a ctx as qvmid has it. */
static int load_rows(int fd, uint64_t size)
{
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_source *src;
	int err = qvmi_ctx_create(&ctx);

	if (!err)
		err = qvmi__source_shm_create(ctx, dup(fd), false, &src);
	if (!err)
		err = qvmi__map_add_host(ctx, src, 0, size, 0,
					 qvmi__shm_host(src, 0));
	if (!err)
		err = qvmi__ram_add(ctx, 0, size);
	if (!err)
		err = bench_pmem_load(ctx, fd, size, ">= 0.9x");
	qvmi_ctx_destroy(ctx);
	return err;
}

static int one_size(uint64_t size, uint64_t data, const char *goal)
{
	char path[64], what[160], lim[96];
	double tf[RUNS], th[RUNS];
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_source *src;
	uint8_t *buf = malloc(CHUNK);
	uint64_t hits = 0;
	int fd, err = -1;

	snprintf(path, sizeof(path), "/dev/shm/qvmi-bench-scale-%d",
		 (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	unlink(path);
	if (fd < 0 || !buf || ftruncate(fd, (off_t)size) ||
	    fill(fd, size, data))
		goto out;
	/* Each run as a new `qvmi find` would do it: a new context, a new
	 * mapping of the file. */
	for (int i = 0; i < RUNS; i++) {
		double t0 = bench_now();

		hits += hole_scan(fd, size, buf);
		th[i] = (bench_now() - t0) * 1e3;
		t0 = bench_now();
		if (qvmi_ctx_create(&ctx) ||
		    qvmi__source_shm_create(ctx, dup(fd), false, &src) ||
		    qvmi__map_add_host(ctx, src, 0, size, 0,
				       qvmi__shm_host(src, 0)) ||
		    qvmi__ram_add(ctx, 0, size) ||
		    qvmi_find_pa(ctx, needle, sizeof(needle) - 1, count_hit,
				 &hits) < 0)
			goto out;
		qvmi_ctx_destroy(ctx);
		ctx = NULL;
		tf[i] = (bench_now() - t0) * 1e3;
	}
	if (hits)
		fprintf(stderr, "bench: scale: the needle is in the data?\n");
	snprintf(lim, sizeof(lim), "scan of the data only (SEEK_DATA/HOLE)");
	snprintf(what, sizeof(what),
		 "%s: %llu MiB sparse RAM file holding %llu MiB", lim,
		 (unsigned long long)(size >> 20),
		 (unsigned long long)(data >> 20));
	bench_row(what, median(th, RUNS), "ms", 0, NULL, NULL);
	snprintf(what, sizeof(what),
		 "qvmi_find_pa (no match): %llu MiB sparse RAM file holding "
		 "%llu MiB",
		 (unsigned long long)(size >> 20),
		 (unsigned long long)(data >> 20));
	bench_row(what, median(tf, RUNS), "ms", median(th, RUNS), lim, goal);
	err = load_rows(fd, size);
out:
	if (err)
		fprintf(stderr, "bench: scale %llu MiB: %s\n",
			(unsigned long long)(size >> 20),
			ctx ? qvmi_errmsg(ctx) : strerror(errno));
	qvmi_ctx_destroy(ctx);
	if (fd >= 0)
		close(fd);
	free(buf);
	return err;
}

int bench_scale(const char *qmp)
{
	(void)qmp;
	if (one_size(512ull << 20, 115ull << 20, NULL) ||
	    one_size(4ull << 30, 300ull << 20, NULL))
		return -1;
	return bench_quick ? 0 : one_size(16ull << 30, 462ull << 20, "<= 1.3x");
}
