// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * KVMi through qvmid (issue 12), each next to its limit in the same run:
 *  - a LibVMI-style process list (the pause batch with one PAUSE event
 *    per vCPU, 5 GET_REGISTERS with LibVMI's 7 MSRs, 65 READ_PHYSICALs of
 *    4 KiB, one CONTINUE per event), against the same pause, 5 register
 *    reads, 65 reads and resume through qvmid's own session protocol;
 *  - a READ_PHYSICAL 4 KiB round trip, against a raw unix echo of the same
 *    bytes (24 in, 4 KiB + 16 out), interleaved request by request;
 *  - with --gdb, LibVMI's breakpoint cycle (BREAKPOINT in the tool's
 *    hands -> restore, single-step on, RETRY, SINGLESTEP, re-arm,
 *    single-step off, CONTINUE), against the direct gdbstub round trip.
 * qvmid's KVMi front-end and session server run in this process, in a
 * thread each (one at a time: they share nothing), over the code qvmid
 * runs; the tool side is written here from the protocol.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench.h"
#include "proto/kvmi-wire.h"
#include "../daemon/kvmi-server.h"
#include "../daemon/session-server.h"

enum { NPS = 20, NREADS = 65, NRT = 2000, NBP = 20, MSG = 8192 };

struct kt {
	int lfd, fd;
	uint32_t seq;
	struct qvmid_kvmi *k;
	pthread_t thr;
	uint32_t evseq[8];
	uint8_t evb[8][64];
	unsigned int nev;
};

static int rd(int fd, void *buf, size_t n)
{
	uint8_t *b = buf;

	while (n) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t r;

		if (poll(&p, 1, 10000) != 1)
			return -1;
		r = read(fd, b, n);
		if (r <= 0)
			return -1;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

static int send_seq(struct kt *t, uint16_t id, uint32_t seq, const void *p,
		    size_t n)
{
	uint8_t b[MSG];
	struct qvmi_kvmi_hdr h = { id, (uint16_t)n, seq };

	qvmi__kvmi_hdr_encode(&h, b);
	if (n)
		memcpy(b + QVMI_KVMI_HDR, p, n);
	return write(t->fd, b, QVMI_KVMI_HDR + n) ==
			       (ssize_t)(QVMI_KVMI_HDR + n) ?
		       0 :
		       -1;
}

/* The next message: an event is queued (its first 64 bytes kept), a
 * reply's error code returned with data in out. */
static int next_msg(struct kt *t, uint8_t *out, size_t cap, bool *event)
{
	uint8_t b[MSG];
	struct qvmi_kvmi_hdr h;
	const char *why;

	if (rd(t->fd, b, 8) || qvmi__kvmi_hdr_decode(b, &h, &why) ||
	    rd(t->fd, b + 8, h.size))
		return -EIO;
	*event = h.id == QVMI_KVMI_EVENT;
	if (*event) {
		if (t->nev >= 8)
			return -EIO;
		t->evseq[t->nev] = h.seq;
		memcpy(t->evb[t->nev++], b + 8, 64);
		return 0;
	}
	if (out && h.size > 8)
		memcpy(out, b + 16, QVMI_MIN(cap, (size_t)h.size - 8));
	return (int32_t)qvmi__kvmi_u32(b + 8);
}

static int call(struct kt *t, uint16_t id, const void *p, size_t n,
		uint8_t *out, size_t cap)
{
	bool ev = true;
	int err = send_seq(t, id, ++t->seq, p, n);

	while (!err && ev)
		err = next_msg(t, out, cap, &ev);
	return err;
}

static int wait_events(struct kt *t, unsigned int n)
{
	bool ev;
	int err = 0;

	while (!err && t->nev < n)
		err = next_msg(t, NULL, 0, &ev) ?: (ev ? 0 : -EIO);
	return err;
}

static int reply_all(struct kt *t, uint8_t action)
{
	for (unsigned int i = 0; i < t->nev; i++) {
		uint8_t p[16] = { 0 };

		memcpy(p, t->evb[i] + 2, 2);
		p[8] = action;
		p[9] = t->evb[i][4];
		if (send_seq(t, QVMI_KVMI_EVENT_REPLY, t->evseq[i], p, 16))
			return -EIO;
	}
	t->nev = 0;
	return 0;
}

static int pause_all(struct kt *t, unsigned int ncpu)
{
	uint8_t off[8] = { 0, 1 }, on[8] = { 1, 1 }, p[16] = { 0 };

	send_seq(t, QVMI_KVMI_CONTROL_CMD_RESPONSE, ++t->seq, off, 8);
	for (unsigned int v = 0; v < ncpu; v++) {
		qvmi__kvmi_put16(p, (uint16_t)v);
		p[8] = 1;
		send_seq(t, QVMI_KVMI_PAUSE_VCPU, ++t->seq, p, 16);
	}
	return call(t, QVMI_KVMI_CONTROL_CMD_RESPONSE, on, 8, NULL, 0) ?:
		       wait_events(t, ncpu);
}

static void *kvmi_main(void *arg)
{
	qvmid_kvmi_run(arg);
	return NULL;
}

/* qvmid's warnings (a step that timed out, ...) explain odd rows. */
static void kt_log(enum qvmi_log_level lvl, const char *msg, void *arg)
{
	(void)arg;
	if (lvl <= QVMI_LOG_WARN)
		fprintf(stderr, "bench kvmi: qvmid: %s\n", msg);
}

static int kt_start(struct kt *t, struct qvmi_ctx *ctx, const char *sock,
		    const char *gdb)
{
	struct qvmid_kvmi_opts o = { .connect_addr = sock,
				     .unknown_msr_zero = true,
				     .gdb_path = gdb,
				     .log = kt_log };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint8_t hs[96], ans[24] = { 24 };
	struct pollfd p;

	t->fd = -1;
	unlink(sock);
	t->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if (bind(t->lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(t->lfd, 1) || qvmid_kvmi_create(ctx, &o, &t->k) ||
	    pthread_create(&t->thr, NULL, kvmi_main, t->k))
		return -1;
	p = (struct pollfd){ t->lfd, POLLIN, 0 };
	if (poll(&p, 1, 10000) != 1)
		return -1;
	t->fd = accept4(t->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (t->fd < 0 || rd(t->fd, hs, sizeof(hs)) ||
	    write(t->fd, ans, sizeof(ans)) != sizeof(ans))
		return -1;
	return 0;
}

static void kt_stop(struct kt *t, const char *sock)
{
	if (t->fd >= 0)
		close(t->fd);
	if (t->k) {
		qvmid_kvmi_stop(t->k);
		pthread_join(t->thr, NULL);
		qvmid_kvmi_destroy(t->k);
	}
	close(t->lfd);
	unlink(sock);
}

/* Guest pages the kernel uses: from the kernel's physical load address
 * (16 MiB with the Debian kernel), as a process list reads them. */
static uint64_t page_at(int i)
{
	return 0x1000000 + (uint64_t)i * 4096 * 7;
}

static int kvmi_ps(struct kt *t, unsigned int ncpu, double *ms)
{
	uint8_t regs[16 + 28] = { 0 }, req[16], out[4096];
	static const uint32_t msrs[7] = { 0x174,      0x175,	  0x176,
					  0xc0000080, 0xc0000081, 0xc0000082,
					  0xc0000083 };
	double t0 = bench_now();
	int err = pause_all(t, ncpu);

	qvmi__kvmi_put16(regs + 8, 7);
	for (int i = 0; i < 7; i++)
		qvmi__kvmi_put32(regs + 16 + 4 * i, msrs[i]);
	for (int i = 0; i < 5 && !err; i++)
		err = call(t, QVMI_KVMI_GET_REGISTERS, regs, sizeof(regs), out,
			   sizeof(out));
	for (int i = 0; i < NREADS && !err; i++) {
		qvmi__kvmi_put64(req, page_at(i));
		qvmi__kvmi_put64(req + 8, 4096);
		err = call(t, QVMI_KVMI_READ_PHYSICAL, req, 16, out,
			   sizeof(out));
	}
	err = err ?: reply_all(t, QVMI_KVMI_CONTINUE);
	/* ordered after the last CONTINUE: the VM runs again */
	err = err ?: call(t, QVMI_KVMI_GET_VERSION, NULL, 0, out, 16);
	*ms = (bench_now() - t0) * 1e3;
	return err;
}

/* ---- the same through qvmid's session protocol ---- */

struct ses {
	struct qvmid_session_server *s;
	pthread_t thr;
};

static void *ses_main(void *arg)
{
	qvmid_session_server_run(((struct ses *)arg)->s);
	return NULL;
}

static int session_ps(struct qvmi_ctx *ctx, double *lat, int n)
{
	uint8_t key[32], out[4096];
	char sock[108], keyfile[108];
	struct qvmid_session_opts o = { .key = key, .key_len = sizeof(key) };
	QVMI_OPTS(qvmi_session_opts, so, .key_path = keyfile);
	struct qvmi_ctx *tool = NULL;
	struct ses sv = { 0 };
	int fd, err = 0;

	if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key))
		return -1;
	snprintf(sock, sizeof(sock), "/tmp/qvmi-bench-kvs-%d.sock",
		 (int)getpid());
	snprintf(keyfile, sizeof(keyfile), "/tmp/qvmi-bench-kvs-%d.key",
		 (int)getpid());
	fd = open(keyfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, key, sizeof(key)) != (ssize_t)sizeof(key))
		err = -1;
	if (fd >= 0)
		close(fd);
	err = err ?: qvmid_session_server_create(ctx, sock, &o, &sv.s);
	err = err ?: -pthread_create(&sv.thr, NULL, ses_main, &sv);
	err = err ?: qvmi_ctx_create(&tool);
	err = err ?: qvmi_session_open(tool, sock, &so);
	for (int r = 0; r < n && !err; r++) {
		double t0 = bench_now();
		struct qvmi_regs_x86 regs;

		err = qvmi_vm_pause(tool);
		for (int i = 0; i < 5 && !err; i++)
			err = qvmi_get_regs(tool, 0, &regs);
		for (int i = 0; i < NREADS && !err; i++)
			err = qvmi_read_pa(tool, page_at(i), out, 4096);
		err = err ?: qvmi_vm_resume(tool);
		lat[r] = (bench_now() - t0) * 1e3;
	}
	if (err)
		fprintf(stderr, "bench kvmi: session: %s\n",
			tool ? qvmi_errmsg(tool) : strerror(-err));
	qvmi_ctx_destroy(tool);
	if (sv.s) {
		qvmid_session_server_stop(sv.s);
		pthread_join(sv.thr, NULL);
		qvmid_session_server_destroy(sv.s);
	}
	unlink(keyfile);
	return err;
}

/* ---- READ_PHYSICAL 4 KiB against a raw echo ---- */

struct echo {
	int fd;
	uint8_t page[4096];
};

/* 24 bytes in (a READ_PHYSICAL), header + error code + 4 KiB out, in
 * one write, as qvmid answers. */
static void *echo_main(void *arg)
{
	struct echo *e = arg;
	uint8_t in[24], out[16 + 4096] = { 0 };

	while (!rd(e->fd, in, sizeof(in))) {
		memcpy(out, in, 8);
		memcpy(out + 16, e->page, 4096);
		if (write(e->fd, out, sizeof(out)) != (ssize_t)sizeof(out))
			break;
	}
	return NULL;
}

static int round_trips(struct kt *t, double *kv, double *ec, int n)
{
	struct echo e;
	int sv[2], err = 0;
	pthread_t thr;
	uint8_t req[24] = { 0 }, out[16 + 4096];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -1;
	e.fd = sv[1];
	memset(e.page, 0x5a, sizeof(e.page));
	pthread_create(&thr, NULL, echo_main, &e);
	for (int i = 0; i < n && !err; i++) {
		double t0 = bench_now();

		qvmi__kvmi_put64(req + 8, page_at(i % 512));
		qvmi__kvmi_put64(req + 16, 4096);
		err = call(t, QVMI_KVMI_READ_PHYSICAL, req + 8, 16, out, 4096);
		kv[i] = (bench_now() - t0) * 1e6;
		t0 = bench_now();
		if (write(sv[0], req, 24) != 24 || rd(sv[0], out, sizeof(out)))
			err = -EIO;
		ec[i] = (bench_now() - t0) * 1e6;
	}
	close(sv[0]);
	pthread_join(thr, NULL);
	close(sv[1]);
	return err;
}

/* ---- LibVMI's breakpoint cycle ---- */

static int write_byte(struct kt *t, uint64_t gpa, uint8_t v)
{
	uint8_t req[17];

	qvmi__kvmi_put64(req, gpa);
	qvmi__kvmi_put64(req + 8, 1);
	req[16] = v;
	return call(t, QVMI_KVMI_WRITE_PHYSICAL, req, 17, NULL, 0);
}

static int vcpu_ctl(struct kt *t, uint16_t id, unsigned int v, uint16_t ev,
		    uint8_t on)
{
	uint8_t p[16] = { 0 };

	qvmi__kvmi_put16(p, (uint16_t)v);
	if (id == QVMI_KVMI_CONTROL_EVENTS)
		qvmi__kvmi_put16(p + 8, ev);
	p[id == QVMI_KVMI_CONTROL_EVENTS ? 10 : 8] = on;
	return call(t, id, p, 16, NULL, 0);
}

static int bp_cycles(struct kt *t, unsigned int ncpu, uint64_t va, double *lat,
		     int n)
{
	uint8_t req[16] = { 0 }, out[16], orig = 0;
	uint64_t gpa;
	int err = pause_all(t, ncpu);

	qvmi__kvmi_put64(req + 8, va);
	err = err ?: call(t, QVMI_KVMI_VCPU_TRANSLATE_GVA, req, 16, out, 8);
	gpa = qvmi__kvmi_u64(out);
	qvmi__kvmi_put64(req, gpa);
	qvmi__kvmi_put64(req + 8, 1);
	err = err ?: call(t, QVMI_KVMI_READ_PHYSICAL, req, 16, &orig, 1);
	err = err ?: write_byte(t, gpa, 0xcc);
	for (unsigned int v = 0; v < ncpu && !err; v++)
		err = vcpu_ctl(t, QVMI_KVMI_CONTROL_EVENTS, v, QVMI_KVMI_EV_BREAKPOINT, 1) ?:
			      vcpu_ctl(t, QVMI_KVMI_CONTROL_EVENTS, v,
				       QVMI_KVMI_EV_SINGLESTEP, 1);
	err = err ?: reply_all(t, QVMI_KVMI_CONTINUE);
	for (int i = 0; i < n && !err; i++) {
		unsigned int v;
		double t0;

		err = wait_events(t, 1);
		t0 = bench_now();
		v = qvmi__kvmi_u16(t->evb[0] + 2);
		err = err ?: write_byte(t, gpa, orig);
		err = err   ?:
			      vcpu_ctl(t, QVMI_KVMI_VCPU_CONTROL_SINGLESTEP, v,
				       0, 1);
		err = err ?: reply_all(t, QVMI_KVMI_RETRY);
		err = err ?: wait_events(t, 1);
		err = err ?: write_byte(t, gpa, 0xcc);
		err = err   ?:
			      vcpu_ctl(t, QVMI_KVMI_VCPU_CONTROL_SINGLESTEP, v,
				       0, 0);
		err = err ?: reply_all(t, QVMI_KVMI_CONTINUE);
		/* ordered after the CONTINUE: the VM runs again */
		err = err ?: call(t, QVMI_KVMI_GET_VERSION, NULL, 0, out, 16);
		lat[i] = (bench_now() - t0) * 1e3;
	}
	err = err ?: pause_all(t, ncpu);
	err = err ?: write_byte(t, gpa, orig);
	return err ?: reply_all(t, QVMI_KVMI_CONTINUE);
}

static int attach(const char *qmp, struct qvmi_ctx **ret)
{
	QVMI_OPTS(qvmi_attach_opts, o, .sources = QVMI_SRC_SHM);
	int err = qvmi_ctx_create(ret);

	return err ?: qvmi_attach_qmp(*ret, qmp, &o);
}

/* The sleeper's syscall, and the direct gdbstub round trips (us). */
static int direct_bp(const char *qmp, uint64_t *va, double *lat, int n)
{
	QVMI_OPTS(qvmi_gdb_opts, g, .resume = 1);
	struct qvmi_linux *lx = NULL;
	struct qvmi_ctx *ctx = NULL;
	int err = attach(qmp, &ctx);

	err = err ?: qvmi_linux_open(ctx, NULL, &lx);
	err = err ?: qvmi_linux_sym_addr(lx, "__x64_sys_clock_nanosleep", va);
	err = err ?: qvmi_attach_gdb(ctx, bench_gdb_path, &g);
	err = err ?: bench_bp_round_trips(ctx, *va, lat, n);
	if (err && ctx)
		fprintf(stderr, "bench kvmi: direct: %s\n", qvmi_errmsg(ctx));
	qvmi_linux_destroy(lx);
	qvmi_ctx_destroy(ctx);
	return err;
}

static void rows(const char *what, double *v, double *lim, int n,
		 const char *unit, const char *lim_what, const char *goal)
{
	char w[256], l[128];

	bench_sort(v, (size_t)n);
	bench_sort(lim, (size_t)n);
	snprintf(w, sizeof(w), "%s, p50", what);
	snprintf(l, sizeof(l), "%s, p50", lim_what);
	bench_row(w, v[n / 2], unit, lim[n / 2], l, goal);
	snprintf(w, sizeof(w), "%s, p99", what);
	snprintf(l, sizeof(l), "%s, p99", lim_what);
	bench_row(w, v[n - 1 - n / 100], unit, lim[n - 1 - n / 100], l, NULL);
}

int bench_kvmi(const char *qmp)
{
	static double a[NRT], b[NRT];
	char sock[108];
	struct qvmi_ctx *ctx = NULL;
	struct kt t = { .lfd = -1, .fd = -1 };
	int nps = bench_quick ? 5 : NPS, nrt = bench_quick ? 200 : NRT;
	int nbp = bench_quick ? 5 : NBP, ncpu, err;
	uint64_t va = 0;

	if (!qmp)
		return 0;
	snprintf(sock, sizeof(sock), "/tmp/qvmi-bench-kvmi-%d.sock",
		 (int)getpid());
	err = attach(qmp, &ctx);
	ncpu = err ? -1 : qvmi_vcpu_count(ctx);
	err = err ?: session_ps(ctx, b, nps);
	err = err ?: kt_start(&t, ctx, sock, NULL);
	for (int i = 0; i < nps && !err; i++)
		err = kvmi_ps(&t, (unsigned int)ncpu, &a[i]);
	if (!err)
		rows("KVMi LibVMI-style process list (pause batch, 5 "
		     "GET_REGISTERS, 65 READ_PHYSICAL 4 KiB, CONTINUE)",
		     a, b, nps, "ms", "same reads over qvmid's session",
		     "<= 20 ms");
	err = err ?: round_trips(&t, a, b, nrt);
	if (!err)
		rows("KVMi READ_PHYSICAL 4 KiB round trip", a, b, nrt, "us",
		     "raw unix echo of 4 KiB", "<= 1.5x echo");
	kt_stop(&t, sock);
	qvmi_ctx_destroy(ctx);
	if (err || !bench_gdb_path)
		return err ? -1 : 0;
	/* the gdbstub serves one client: the direct run detaches first */
	err = direct_bp(qmp, &va, b, nbp); /* ms */
	err = err ?: attach(qmp, &ctx);
	memset(&t, 0, sizeof(t));
	t.lfd = t.fd = -1;
	err = err ?: kt_start(&t, ctx, sock, bench_gdb_path);
	err = err ?: bp_cycles(&t, (unsigned int)ncpu, va, a, nbp);
	if (!err)
		rows("KVMi breakpoint cycle (BREAKPOINT -> restore, step, "
		     "SINGLESTEP, re-arm, CONTINUE done)",
		     a, b, nbp, "ms", "direct gdbstub round trip",
		     "<= 2 ms (TCG)");
	kt_stop(&t, sock);
	qvmi_ctx_destroy(ctx);
	return err ? -1 : 0;
}
