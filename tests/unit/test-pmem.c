// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pmemaccess: the stream decoder, qvmid's server (in a thread, over a
 * testmem ctx) driven by raw sockets, and the libqvmi client source.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "sockcli.h"
#include "qvmi.h"
#include "core/internal.h"
#include "../../daemon/pmem-server.h"
#include "proto/pmemaccess.h"

enum {
	MEM_SIZE = 4 << 20, /* guest RAM of the test server */
	MAX_XFER = 1 << 20,
	ROM_GPA = 0x10000000, /* mapped, but not in the RAM list */
	WAIT_MS = 5000,
};

struct srv {
	struct qvmi_ctx *ctx;
	struct qvmid_pmem_server *s;
	pthread_t thr;
	uint8_t *mem;
	uint8_t rom[4096];
	char path[108];
	int rc;
};

static void *srv_main(void *arg)
{
	struct srv *t = arg;

	t->rc = qvmid_pmem_server_run(t->s);
	return NULL;
}

static void sock_path(char *buf, size_t n)
{
	static int seq;

	snprintf(buf, n, "/tmp/qvmi-test-pmem-%d-%d.sock", (int)getpid(),
		 seq++);
}

static void fill(uint8_t *b, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		b[i] = (uint8_t)(seed >> 16);
	}
}

static bool srv_top_page; /* map a page that ends at 2^64 too */

/* Worker threads of the servers srv_start_opts() makes (workers_*). */
static unsigned int g_workers;

static struct srv *srv_start_opts(const struct qvmid_pmem_opts *opts)
{
	struct srv *t = calloc(1, sizeof(*t));
	struct qvmid_pmem_opts oo = *opts, *o = &oo;
	struct qvmi_source *src;

	oo.workers = g_workers;
	CHECK(t);
	t->mem = malloc(MEM_SIZE);
	CHECK(t->mem);
	fill(t->mem, MEM_SIZE, 42);
	CHECK_OK(qvmi_ctx_create(&t->ctx));
	CHECK_OK(qvmi_source_testmem_create(t->ctx, t->mem, MEM_SIZE, 1, &src));
	CHECK_OK(qvmi_map_add(t->ctx, src, 0, MEM_SIZE, 0));
	CHECK_OK(qvmi__ram_add(t->ctx, 0, MEM_SIZE));
	fill(t->rom, sizeof(t->rom), 7);
	CHECK_OK(qvmi_source_testmem_create(t->ctx, t->rom, sizeof(t->rom), 1,
					    &src));
	CHECK_OK(qvmi_map_add(t->ctx, src, ROM_GPA, sizeof(t->rom), 0));
	if (srv_top_page) /* the ROM again, in the last page below 2^64 */
		CHECK_OK(qvmi_map_add(t->ctx, src, 0ull - sizeof(t->rom),
				      sizeof(t->rom), 0));
	sock_path(t->path, sizeof(t->path));
	CHECK_OK(qvmid_pmem_server_create(t->ctx, t->path, o, &t->s));
	CHECK_INT(pthread_create(&t->thr, NULL, srv_main, t), ==, 0);
	return t;
}

static struct srv *srv_start(void)
{
	struct qvmid_pmem_opts o = { .max_transfer = MAX_XFER };

	return srv_start_opts(&o);
}

static void srv_stop(struct srv *t)
{
	qvmid_pmem_server_stop(t->s);
	CHECK_INT(pthread_join(t->thr, NULL), ==, 0);
	CHECK_INT(t->rc, ==, 0);
	qvmid_pmem_server_destroy(t->s);
	qvmi_ctx_destroy(t->ctx);
	free(t->mem);
	free(t);
}

/* ---- a raw client --------------------------------------------------------- */

/* One request with its reply; the status byte, or -1. */
static int raw_rw(int fd, uint64_t type, uint64_t addr, void *buf, size_t len)
{
	uint8_t h[QVMI_PMEM_REQ_SIZE], st;

	qvmi__pmem_encode_req(h, type, addr, len);
	if (!tcli_send_raw(fd, h, sizeof(h)))
		return -1;
	if (type == QVMI_PMEM_WRITE && !tcli_send_raw(fd, buf, len))
		return -1;
	if (type == QVMI_PMEM_READ &&
	    tcli_recv_raw(fd, buf, len, WAIT_MS) != (ssize_t)len)
		return -1;
	return tcli_recv_raw(fd, &st, 1, WAIT_MS) == 1 ? st : -1;
}

static void cli_send(int fd, const void *buf, size_t len)
{
	CHECK_MSG(tcli_send_raw(fd, buf, len), "send: %s", strerror(errno));
}

static void cli_req(int fd, uint64_t type, uint64_t addr, uint64_t len)
{
	uint8_t h[QVMI_PMEM_REQ_SIZE];

	qvmi__pmem_encode_req(h, type, addr, len);
	cli_send(fd, h, sizeof(h));
}

/* Receive up to len bytes; returns the count (short only at EOF). */
static size_t cli_recv(int fd, void *buf, size_t len)
{
	ssize_t n = tcli_recv_raw(fd, buf, len, WAIT_MS);

	CHECK_MSG(n >= 0, "no reply in %d ms or error", WAIT_MS);
	return (size_t)n;
}

/* The server closed the connection without sending anything more. */
static void cli_expect_eof(int fd)
{
	uint8_t b;

	CHECK_INT(cli_recv(fd, &b, 1), ==, 0);
}

static int cli_status(int fd)
{
	uint8_t st = 0xee;

	CHECK_INT(cli_recv(fd, &st, 1), ==, 1);
	return st;
}

/* Read via the protocol; returns the status byte. */
static int cli_read(int fd, uint64_t addr, void *buf, size_t len)
{
	cli_req(fd, QVMI_PMEM_READ, addr, len);
	CHECK_INT(cli_recv(fd, buf, len), ==, len);
	return cli_status(fd);
}

static int cli_write(int fd, uint64_t addr, const void *buf, size_t len)
{
	cli_req(fd, QVMI_PMEM_WRITE, addr, len);
	cli_send(fd, buf, len);
	return cli_status(fd);
}

/* ---- decoder ------------------------------------------------------------- */

static void test_decoder_events(void)
{
	struct qvmi_pmem_decoder d;
	uint8_t stream[24 * 3 + 5];
	enum qvmi_pmem_ev ev;
	const uint8_t *p;
	size_t plen, used, off = 0;

	qvmi__pmem_encode_req(stream, 0xabcdef0000000001ull, 0x1000, 8);
	qvmi__pmem_encode_req(stream + 24, 2, 0x2000, 5);
	memcpy(stream + 48, "hello", 5);
	qvmi__pmem_encode_req(stream + 53, 9, 0, 0);
	qvmi__pmem_decoder_init(&d, 64);
	/* one byte at a time: the header comes together across calls */
	for (int i = 0; i < 23; i++) {
		CHECK_INT(qvmi__pmem_decode(&d, stream + off, 1, &ev, &p,
					    &plen),
			  ==, 1);
		CHECK_INT(ev, ==, QVMI_PMEM_EV_NONE);
		off++;
	}
	off += qvmi__pmem_decode(&d, stream + off, sizeof(stream) - off, &ev,
				 &p, &plen);
	CHECK_INT(ev, ==, QVMI_PMEM_EV_READ);
	CHECK_U64(d.req.raw_type, ==, 0xabcdef0000000001ull);
	CHECK_U64(d.req.address, ==, 0x1000);
	CHECK_INT(off, ==, 24);
	off += qvmi__pmem_decode(&d, stream + off, sizeof(stream) - off, &ev,
				 &p, &plen);
	CHECK_INT(ev, ==, QVMI_PMEM_EV_WRITE_BEGIN);
	used = qvmi__pmem_decode(&d, stream + off, 3, &ev, &p, &plen);
	CHECK_INT(ev, ==, QVMI_PMEM_EV_PAYLOAD);
	CHECK_INT(used, ==, 3);
	CHECK(p == stream + off && plen == 3);
	off += used;
	off += qvmi__pmem_decode(&d, stream + off, sizeof(stream) - off, &ev,
				 &p, &plen);
	CHECK_INT(ev, ==, QVMI_PMEM_EV_PAYLOAD);
	CHECK_INT(plen, ==, 2); /* never past the payload */
	CHECK_INT(qvmi__pmem_decode(&d, stream + off, 0, &ev, &p, &plen), ==,
		  0);
	CHECK_INT(ev, ==, QVMI_PMEM_EV_WRITE_END);
	off += qvmi__pmem_decode(&d, stream + off, sizeof(stream) - off, &ev,
				 &p, &plen);
	CHECK_INT(ev, ==, QVMI_PMEM_EV_UNKNOWN);
	CHECK_INT(off, ==, sizeof(stream));
	/* oversized: dead afterwards */
	qvmi__pmem_encode_req(stream, 1, 0, 65);
	CHECK_INT(qvmi__pmem_decode(&d, stream, 24, &ev, &p, &plen), ==, 24);
	CHECK_INT(ev, ==, QVMI_PMEM_EV_TOO_BIG);
	CHECK_INT(qvmi__pmem_decode(&d, stream, 24, &ev, &p, &plen), ==, 0);
	CHECK(qvmi__pmem_range_wraps(UINT64_MAX, 2));
	CHECK(!qvmi__pmem_range_wraps(UINT64_MAX, 1));
	CHECK(!qvmi__pmem_range_wraps(UINT64_MAX, 0));
}

/* ---- server ---------------------------------------------------------------- */

static void test_read_write_identical(void)
{
	static const struct {
		uint64_t addr, len;
	} cases[] = { { 0, 1 },
		      { 0x1000, 4096 },
		      { 0x1fff, 3 },
		      { 12345, 200000 },
		      { 0, MAX_XFER },
		      { MEM_SIZE - 1, 1 },
		      { MEM_SIZE - 4096, 4096 } };
	struct srv *t = srv_start();
	uint8_t *buf = malloc(MAX_XFER), *w = malloc(MAX_XFER);
	int fd = tcli_connect(t->path);

	CHECK(buf && w);
	for (size_t i = 0; i < QVMI_ARRAY_SIZE(cases); i++) {
		memset(buf, 0xcc, cases[i].len);
		CHECK_INT(cli_read(fd, cases[i].addr, buf, cases[i].len), ==,
			  1);
		CHECK_MSG(!memcmp(buf, t->mem + cases[i].addr, cases[i].len),
			  "read %zu differs", i);
	}
	for (size_t i = 0; i < QVMI_ARRAY_SIZE(cases); i++) {
		fill(w, cases[i].len, (uint32_t)i + 7);
		CHECK_INT(cli_write(fd, cases[i].addr, w, cases[i].len), ==, 1);
		CHECK(!memcmp(t->mem + cases[i].addr, w, cases[i].len));
		CHECK_INT(cli_read(fd, cases[i].addr, buf, cases[i].len), ==,
			  1);
		CHECK(!memcmp(buf, w, cases[i].len));
	}
	close(fd);
	free(buf);
	free(w);
	srv_stop(t);
}

static void test_short_header_then_eof(void)
{
	struct srv *t = srv_start();
	int fd = tcli_connect(t->path);
	uint8_t h[QVMI_PMEM_REQ_SIZE], b[8];

	qvmi__pmem_encode_req(h, 1, 0, 8);
	cli_send(fd, h, 10);
	shutdown(fd, SHUT_WR);
	cli_expect_eof(fd);
	close(fd);
	fd = tcli_connect(t->path); /* the server is still there */
	CHECK_INT(cli_read(fd, 0, b, 8), ==, 1);
	CHECK(!memcmp(b, t->mem, 8));
	close(fd);
	srv_stop(t);
}

/* The server goes (QEMU died, SIGTERM) with requests already sent: each
 * gets the failure reply (zeros + status 0; a write is not applied), then
 * EOF, instead of a reset mid-reply. */
static void test_destroy_fails_pending(void)
{
	struct srv *t = srv_start();
	int fd = tcli_connect(t->path);
	uint8_t b[65], aa[8], zero[64] = { 0 };

	memset(aa, 0xaa, sizeof(aa));
	CHECK_INT(cli_read(fd, 0, b, 8), ==, 1); /* accepted and served */
	qvmid_pmem_server_stop(t->s);
	CHECK_INT(pthread_join(t->thr, NULL), ==, 0);
	cli_req(fd, QVMI_PMEM_READ, 0, 64);
	cli_req(fd, QVMI_PMEM_WRITE, 0, sizeof(aa));
	cli_send(fd, aa, sizeof(aa));
	qvmid_pmem_server_destroy(t->s);
	CHECK_INT(cli_recv(fd, b, 65), ==, 65);
	CHECK(!memcmp(b, zero, 64));
	CHECK_INT(b[64], ==, QVMI_PMEM_STATUS_FAIL);
	CHECK_INT(cli_status(fd), ==, QVMI_PMEM_STATUS_FAIL);
	cli_expect_eof(fd);
	CHECK(memcmp(t->mem, aa, sizeof(aa))); /* not applied */
	close(fd);
	qvmi_ctx_destroy(t->ctx);
	free(t->mem);
	free(t);
}

static void test_types(void)
{
	struct srv *t = srv_start();
	int fd = tcli_connect(t->path);
	uint8_t b[16], w[4] = { 1, 2, 3, 4 };

	cli_req(fd, 7, 0, 16); /* unknown: one 0 byte, nothing else */
	CHECK_INT(cli_status(fd), ==, 0);
	cli_req(fd, 0x300, 0, 16); /* low byte 0: a quit */
	cli_expect_eof(fd);
	close(fd);
	fd = tcli_connect(t->path);
	cli_req(fd, 0xdeadbeefcafe0003ull, 0, 16); /* unknown type 3 */
	CHECK_INT(cli_status(fd), ==, 0);
	/* garbage in the 7 padding bytes of an old uint8_t client */
	cli_req(fd, 0x5a5a5a5a5a5a5a01ull, 0x100, 16);
	CHECK_INT(cli_recv(fd, b, 16), ==, 16);
	CHECK_INT(cli_status(fd), ==, 1);
	CHECK(!memcmp(b, t->mem + 0x100, 16));
	cli_req(fd, 0xffffffffffffff02ull, 0x200, 4);
	cli_send(fd, w, 4);
	CHECK_INT(cli_status(fd), ==, 1);
	CHECK(!memcmp(t->mem + 0x200, w, 4));
	close(fd);
	srv_stop(t);
}

static void test_lengths(void)
{
	static const uint64_t too_big[] = { MAX_XFER + 1, 1ull << 63,
					    UINT64_MAX };
	struct srv *t = srv_start();
	int fd = tcli_connect(t->path);

	cli_req(fd, 1, 0x1000, 0); /* length 0: just the status */
	CHECK_INT(cli_status(fd), ==, 1);
	cli_req(fd, 2, 0x1000, 0);
	CHECK_INT(cli_status(fd), ==, 1);
	close(fd);
	/* Oversized reads and writes cannot be answered in step: the
	 * connection is closed with nothing sent. */
	for (size_t i = 0; i < QVMI_ARRAY_SIZE(too_big); i++) {
		for (uint64_t type = 1; type <= 2; type++) {
			fd = tcli_connect(t->path);
			cli_req(fd, type, 0, too_big[i]);
			cli_expect_eof(fd);
			close(fd);
		}
	}
	srv_stop(t);
}

/* ROM (mapped, not RAM): readable like the original server allowed, but
 * never written. */
static void test_rom(void)
{
	struct srv *t = srv_start();
	int fd = tcli_connect(t->path);
	uint8_t b[64], w[64], before[4096];

	CHECK_INT(cli_read(fd, ROM_GPA + 100, b, 64), ==, 1);
	CHECK(!memcmp(b, t->rom + 100, 64));
	memcpy(before, t->rom, sizeof(before));
	memset(w, 0x33, sizeof(w));
	CHECK_INT(cli_write(fd, ROM_GPA + 100, w, 64), ==, 0);
	CHECK(!memcmp(before, t->rom, sizeof(before)));
	/* half in RAM, half unmapped: the RAM part is not written either */
	memcpy(before, t->mem + MEM_SIZE - 32, 32);
	CHECK_INT(cli_write(fd, MEM_SIZE - 32, w, 64), ==, 0);
	CHECK(!memcmp(before, t->mem + MEM_SIZE - 32, 32));
	CHECK_INT(cli_read(fd, ROM_GPA + 4096 - 8, b, 16), ==, 0);
	close(fd);
	srv_stop(t);
}

static void test_wrap_and_out_of_ram(void)
{
	struct srv *t = srv_start();
	int fd = tcli_connect(t->path);
	uint8_t b[100], zero[100] = { 0 }, w[100], before[64];

	memset(w, 0x77, sizeof(w));
	memset(b, 0xcc, sizeof(b));
	CHECK_INT(cli_read(fd, UINT64_MAX - 10, b, 100), ==, 0);
	CHECK(!memcmp(b, zero, 100));
	memset(b, 0xcc, sizeof(b));
	CHECK_INT(cli_read(fd, MEM_SIZE - 10, b, 100), ==, 0);
	CHECK(!memcmp(b, zero, 100)); /* zeros even for the RAM part */
	CHECK_INT(cli_read(fd, 1ull << 40, b, 100), ==, 0);
	memcpy(before, t->mem + MEM_SIZE - 64, 64);
	CHECK_INT(cli_write(fd, MEM_SIZE - 10, w, 100), ==, 0);
	CHECK(!memcmp(before, t->mem + MEM_SIZE - 64, 64)); /* untouched */
	CHECK_INT(cli_write(fd, UINT64_MAX - 50, w, 100), ==, 0);
	/* still in step after all the failures */
	CHECK_INT(cli_read(fd, 0x40, b, 100), ==, 1);
	CHECK(!memcmp(b, t->mem + 0x40, 100));
	close(fd);
	srv_stop(t);
}

/*
 * A read that is only partly mapped fails as a whole: every byte of the
 * reply is zero, even the first 128 KiB chunk that is all RAM (the range
 * is checked before the first chunk is copied).  And a range that wraps
 * past 2^64 onto mapped memory at 0 is refused, not read in two pieces.
 */
static void test_partial_and_wrapping_reads(void)
{
	size_t len = 300000;
	uint8_t *b = malloc(len), *zero = calloc(1, len);
	struct srv *t;
	int fd;

	CHECK(b && zero);
	t = srv_start();
	fd = tcli_connect(t->path);
	memset(b, 0xcc, len);
	CHECK_INT(cli_read(fd, MEM_SIZE - 200000, b, len), ==, 0);
	CHECK(!memcmp(b, zero, len));
	close(fd);
	srv_stop(t);
	srv_top_page = true;
	t = srv_start();
	srv_top_page = false;
	fd = tcli_connect(t->path);
	CHECK_INT(cli_read(fd, 0ull - 4096, b, 4096), ==, 1);
	CHECK(!memcmp(b, t->rom, 4096));
	memset(b, 0xcc, 8192);
	CHECK_INT(cli_read(fd, 0ull - 4096, b, 8192), ==, 0);
	CHECK(!memcmp(b, zero, 8192));
	close(fd);
	srv_stop(t);
	free(b);
	free(zero);
}

/* Send the first cut bytes of a write, end the stream, and check that
 * nothing changed. */
static void write_cut(struct srv *t, uint64_t addr, const uint8_t *req,
		      size_t cut, size_t paylen)
{
	uint8_t *before = malloc(paylen);
	int fd = tcli_connect(t->path);

	CHECK(before);
	memcpy(before, t->mem + addr, paylen);
	cli_send(fd, req, cut);
	shutdown(fd, SHUT_WR);
	cli_expect_eof(fd); /* the server has dropped it: memory is final */
	close(fd);
	CHECK_MSG(!memcmp(before, t->mem + addr, paylen),
		  "write cut at %zu of %zu was applied", cut, paylen + 24);
	free(before);
}

static void test_write_cut_everywhere(void)
{
	enum { SMALL = 64, BIG = 300000 };
	struct srv *t = srv_start();
	uint8_t *req = malloc(24 + BIG);
	const size_t big_cuts[] = { 24, 25, 24 + 65536, 24 + 131072,
				    24 + BIG - 1 };
	int fd;

	CHECK(req);
	qvmi__pmem_encode_req(req, 2, 0x3000, SMALL);
	memset(req + 24, 0xab, SMALL);
	for (size_t cut = 0; cut < 24 + SMALL; cut++)
		write_cut(t, 0x3000, req, cut, SMALL);
	/* a payload staged in a server-wide buffer (> one chunk) */
	qvmi__pmem_encode_req(req, 2, 0x10000, BIG);
	fill(req + 24, BIG, 99);
	for (size_t i = 0; i < QVMI_ARRAY_SIZE(big_cuts); i++)
		write_cut(t, 0x10000, req, big_cuts[i], BIG);
	/* the whole thing is applied: the check above can fail */
	fd = tcli_connect(t->path);
	cli_send(fd, req, 24 + BIG);
	CHECK_INT(cli_status(fd), ==, 1);
	CHECK(!memcmp(t->mem + 0x10000, req + 24, BIG));
	close(fd);
	free(req);
	srv_stop(t);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_stalled_client(void)
{
	struct srv *t = srv_start();
	int stall = tcli_connect(t->path), stall2 = tcli_connect(t->path);
	int fd = tcli_connect(t->path);
	uint8_t h[QVMI_PMEM_REQ_SIZE], b[4096];
	double t0;

	memset(b, 0x11, sizeof(b));
	qvmi__pmem_encode_req(h, 1, 0x5000, 16);
	cli_send(stall, h, 12); /* half a request, then silence */
	cli_req(stall2, 2, 0x9000, 4096); /* a write missing its payload */
	cli_send(stall2, b, 100);
	t0 = now_s();
	for (int i = 0; i < 200; i++) {
		CHECK_INT(cli_read(fd, (uint64_t)i * 4096, b, 4096), ==, 1);
		CHECK(!memcmp(b, t->mem + (size_t)i * 4096, 4096));
	}
	CHECK_MSG(now_s() - t0 < 2.0, "200 reads took %.2f s", now_s() - t0);
	/* the staller was waited for, not dropped */
	cli_send(stall, h + 12, 12);
	CHECK_INT(cli_recv(stall, b, 16), ==, 16);
	CHECK_INT(cli_status(stall), ==, 1);
	CHECK(!memcmp(b, t->mem + 0x5000, 16));
	close(stall);
	close(stall2);
	close(fd);
	srv_stop(t);
}

static void test_io_timeout(void)
{
	struct qvmid_pmem_opts o = { .io_timeout_ms = 200,
				     .idle_timeout_ms = 400 };
	struct srv *t = srv_start_opts(&o);
	int stall = tcli_connect(t->path), idle = tcli_connect(t->path);
	uint8_t h[QVMI_PMEM_REQ_SIZE];
	double t0 = now_s();

	qvmi__pmem_encode_req(h, 1, 0, 16);
	cli_send(stall, h, 5);
	cli_expect_eof(stall); /* dropped after about 200 ms */
	CHECK_MSG(now_s() - t0 < 1.5, "stall timeout after %.2f s",
		  now_s() - t0);
	cli_expect_eof(idle);
	CHECK(now_s() - t0 >= 0.35);
	close(stall);
	close(idle);
	srv_stop(t);
}

struct worker {
	const char *path;
	uint8_t *mem;
	uint64_t base;
	int ok;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	uint8_t buf[8192], pat[8192];

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", w->path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		w->ok = 0;
		goto out;
	}
	for (int i = 0; i < 100; i++) {
		size_t len = 1 + (size_t)(i * 97) % sizeof(buf);
		uint64_t addr = w->base + (uint64_t)(i * 131) % 4096;

		fill(pat, len, (uint32_t)(w->base + i));
		if (raw_rw(fd, QVMI_PMEM_WRITE, addr, pat, len) != 1 ||
		    raw_rw(fd, QVMI_PMEM_READ, addr, buf, len) != 1 ||
		    memcmp(buf, pat, len))
			w->ok = 0;
	}
out:
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void test_16_concurrent(void)
{
	struct srv *t = srv_start();
	struct worker w[16];
	pthread_t th[16];

	for (int i = 0; i < 16; i++) {
		w[i] = (struct worker){ t->path, t->mem,
					0x100000 + (uint64_t)i * 0x10000, 1 };
		CHECK_INT(pthread_create(&th[i], NULL, worker_main, &w[i]), ==,
			  0);
	}
	for (int i = 0; i < 16; i++) {
		pthread_join(th[i], NULL);
		CHECK_MSG(w[i].ok, "worker %d saw a wrong byte", i);
	}
	srv_stop(t);
}

static void test_1000_connects(void)
{
	enum { N = 1000 };
	struct srv *t = srv_start();
	int *fds = malloc(N * sizeof(int));
	uint8_t b[64];

	CHECK(fds);
	for (int i = 0; i < N; i++)
		fds[i] = tcli_connect(t->path);
	for (int i = 0; i < N; i++)
		cli_req(fds[i], 1, (uint64_t)i * 64, 64);
	for (int i = 0; i < N; i++) {
		CHECK_INT(cli_recv(fds[i], b, 64), ==, 64);
		CHECK_INT(cli_status(fds[i]), ==, 1);
		CHECK(!memcmp(b, t->mem + i * 64, 64));
		close(fds[i]);
	}
	free(fds);
	srv_stop(t);
}

static void test_max_clients(void)
{
	struct qvmid_pmem_opts o = { .max_clients = 8 };
	struct srv *t = srv_start_opts(&o);
	int fds[20], served = 0, refused = 0;
	uint8_t b[8];

	for (int i = 0; i < 20; i++)
		fds[i] = tcli_connect(t->path);
	for (int i = 0; i < 20; i++) {
		/* a refused connection may already be closed: EPIPE is fine */
		if (raw_rw(fds[i], QVMI_PMEM_READ, 0, b, 8) == 1)
			served++;
		else
			refused++;
	}
	CHECK_INT(served, ==, 8);
	CHECK_INT(refused, ==, 12);
	for (int i = 0; i < 20; i++)
		close(fds[i]);
	srv_stop(t);
}

static void test_quit_then_second_client(void)
{
	struct srv *t = srv_start();
	int fd = tcli_connect(t->path);
	uint8_t b[32];

	CHECK_INT(cli_read(fd, 0, b, 32), ==, 1);
	cli_req(fd, 0, 0, 0);
	cli_expect_eof(fd);
	close(fd);
	fd = tcli_connect(t->path);
	CHECK_INT(cli_read(fd, 32, b, 32), ==, 1);
	CHECK(!memcmp(b, t->mem + 32, 32));
	close(fd);
	srv_stop(t);
}

static void test_socket_file(void)
{
	struct qvmi_ctx *ctx;
	struct qvmid_pmem_server *s = NULL, *s2 = NULL;
	char path[108], lng[200];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	CHECK_OK(qvmi_ctx_create(&ctx));
	sock_path(path, sizeof(path));
	/* a regular file is never replaced */
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	CHECK(fd >= 0);
	close(fd);
	CHECK_INT(qvmid_pmem_server_create(ctx, path, NULL, &s), ==, -EEXIST);
	CHECK_OK(stat(path, &st));
	CHECK(S_ISREG(st.st_mode));
	unlink(path);
	/* a stale socket (bound, nobody listening) is */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	CHECK_OK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)));
	close(fd);
	CHECK_OK(qvmid_pmem_server_create(ctx, path, NULL, &s));
	CHECK_OK(stat(path, &st));
	CHECK(S_ISSOCK(st.st_mode));
	CHECK_INT(st.st_mode & 0777, ==, 0600);
	/* a live one is not */
	CHECK_INT(qvmid_pmem_server_create(ctx, path, NULL, &s2), ==,
		  -EADDRINUSE);
	CHECK(!s2);
	memset(lng, 'x', sizeof(lng) - 1);
	lng[sizeof(lng) - 1] = '\0';
	CHECK_INT(qvmid_pmem_server_create(ctx, lng, NULL, &s2), ==,
		  -ENAMETOOLONG);
	qvmid_pmem_server_destroy(s);
	CHECK_INT(stat(path, &st), ==, -1); /* removed on exit */
	qvmi_ctx_destroy(ctx);
}

/* ---- the client source ------------------------------------------------------ */

static void test_client_source(void)
{
	struct srv *t = srv_start();
	struct qvmi_ctx *ctx;
	struct qvmi_map_entry e;
	struct qvmi_ram_range r;
	uint8_t *b = malloc(300000), w[5000];
	QVMI_OPTS(qvmi_pmem_opts, o, .max_transfer = 4096, .timeout_ms = 2000);

	CHECK(b);
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi_attach_pmem(ctx, t->path, &o));
	CHECK_INT(qvmi_map_count(ctx), ==, 1);
	CHECK_OK(qvmi_map_get(ctx, 0, &e));
	CHECK_U64(e.gpa, ==, 0);
	CHECK_U64(e.size, ==, 0); /* all of 2^64 */
	CHECK_STR(e.source, "pmemaccess");
	/* No ram_size: the RAM list is probed.  The server's RAM is
	 * [0, MEM_SIZE), so low RAM is found up to its exact end. */
	CHECK_INT(qvmi_ram_count(ctx), ==, 2);
	CHECK_OK(qvmi_ram_get(ctx, 1, &r));
	CHECK_U64(r.gpa, ==, 0x100000);
	CHECK_U64(r.gpa + r.size, ==, MEM_SIZE);
	CHECK_OK(qvmi_read_pa(ctx, 1234, b, 300000)); /* 74 requests */
	CHECK(!memcmp(b, t->mem + 1234, 300000));
	fill(w, sizeof(w), 5);
	CHECK_OK(qvmi_write_pa(ctx, 0x7ff0, w, sizeof(w)));
	CHECK(!memcmp(t->mem + 0x7ff0, w, sizeof(w)));
	CHECK_INT(qvmi_read_pa(ctx, MEM_SIZE - 8, b, 16), ==, -EFAULT);
	CHECK_U64(qvmi_fault_addr(ctx), ==, MEM_SIZE - 8);
	/* the connection survives a failure */
	CHECK_OK(qvmi_read_pa(ctx, 0, b, 64));
	CHECK(!memcmp(b, t->mem, 64));
	srv_stop(t); /* server gone: closed connection, then refused */
	CHECK_INT(qvmi_read_pa(ctx, 0, b, 64), <, 0);
	CHECK(qvmi_errcode(ctx) == -EPIPE || qvmi_errcode(ctx) == -ENOENT ||
	      qvmi_errcode(ctx) == -ECONNREFUSED);
	CHECK(strstr(qvmi_errmsg(ctx), "pmem"));
	qvmi_ctx_destroy(ctx);
	free(b);
}

static void test_client_ram_size(void)
{
	struct srv *t = srv_start();
	struct qvmi_ctx *ctx;
	struct qvmi_ram_range r;
	uint8_t b[16];
	QVMI_OPTS(qvmi_pmem_opts, o, .ram_size = 0x10000);

	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi_attach_pmem(ctx, t->path, &o));
	CHECK_INT(qvmi_ram_count(ctx), ==, 1);
	CHECK_OK(qvmi_ram_get(ctx, 0, &r));
	CHECK_U64(r.size, ==, 0x10000);
	CHECK_OK(qvmi_read_pa(ctx, 0xfff0, b, 16));
	/* outside the map: the core refuses before asking the server */
	CHECK_INT(qvmi_read_pa(ctx, 0x10000, b, 1), ==, -EFAULT);
	CHECK(strstr(qvmi_errmsg(ctx), "no memory"));
	qvmi_ctx_destroy(ctx);
	srv_stop(t);
}

/* A peer that accepts and never answers: every wait has a deadline. */
static void test_client_timeout(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct qvmi_ctx *ctx;
	char path[108];
	uint8_t b[8];
	double t0;
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	QVMI_OPTS(qvmi_pmem_opts, o, .timeout_ms = 300);

	sock_path(path, sizeof(path));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	CHECK_OK(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)));
	CHECK_OK(listen(lfd, 4));
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi_attach_pmem(ctx, path, &o));
	t0 = now_s();
	CHECK_INT(qvmi_read_pa(ctx, 0, b, 8), ==, -ETIMEDOUT);
	CHECK(now_s() - t0 >= 0.25 && now_s() - t0 < 2.0);
	CHECK_INT(qvmi_attach_pmem(ctx, "/nonexistent/sock", NULL), ==,
		  -ENOENT);
	qvmi_ctx_destroy(ctx);
	close(lfd);
	unlink(path);
}

/*
 * The same with two worker threads: this ctx's sources are no files, so
 * every read and write is handed from a worker to the control thread and
 * the connection goes back after it (pmem-worker.c).
 */
static void no_workers(void *arg)
{
	(void)arg;
	g_workers = 0;
}

static void with_workers(void (*fn)(void))
{
	g_workers = 2;
	qvmi_test_defer(no_workers, NULL); /* also after a failed CHECK */
	fn();
}

static void test_workers_read_write(void)
{
	with_workers(test_read_write_identical);
}

static void test_workers_destroy(void)
{
	with_workers(test_destroy_fails_pending);
}

static void test_workers_types_lengths(void)
{
	with_workers(test_types);
	with_workers(test_lengths);
}

static void test_workers_wrap_rom(void)
{
	with_workers(test_wrap_and_out_of_ram);
	with_workers(test_rom);
}

static void test_workers_write_cut(void)
{
	with_workers(test_write_cut_everywhere);
}

static void test_workers_stalled(void)
{
	with_workers(test_stalled_client);
	with_workers(test_io_timeout);
}

static void test_workers_concurrent(void)
{
	with_workers(test_16_concurrent);
}

static void test_workers_max_clients(void)
{
	with_workers(test_max_clients);
}

static const struct qvmi_test pmem_tests[] = {
	{ "decoder_events", test_decoder_events },
	{ "workers_read_write_identical", test_workers_read_write },
	{ "workers_destroy_fails_pending", test_workers_destroy },
	{ "workers_types_lengths", test_workers_types_lengths },
	{ "workers_wrap_rom", test_workers_wrap_rom },
	{ "workers_write_cut_everywhere", test_workers_write_cut },
	{ "workers_stalled_io_timeout", test_workers_stalled },
	{ "workers_concurrent_16", test_workers_concurrent },
	{ "workers_max_clients", test_workers_max_clients },
	{ "read_write_identical", test_read_write_identical },
	{ "short_header_then_eof", test_short_header_then_eof },
	{ "destroy_fails_pending", test_destroy_fails_pending },
	{ "types", test_types },
	{ "lengths", test_lengths },
	{ "wrap_and_out_of_ram", test_wrap_and_out_of_ram },
	{ "partial_and_wrapping_reads", test_partial_and_wrapping_reads },
	{ "rom_read_only", test_rom },
	{ "write_cut_everywhere", test_write_cut_everywhere },
	{ "stalled_client", test_stalled_client },
	{ "io_timeout", test_io_timeout },
	{ "concurrent_16", test_16_concurrent },
	{ "connects_1000", test_1000_connects },
	{ "max_clients", test_max_clients },
	{ "quit_then_second_client", test_quit_then_second_client },
	{ "socket_file", test_socket_file },
	{ "client_source", test_client_source },
	{ "client_ram_size", test_client_ram_size },
	{ "client_timeout", test_client_timeout },
};
QVMI_SUITE(pmem, pmem_tests);
