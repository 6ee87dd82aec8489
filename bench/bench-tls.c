// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What TLS costs a session (issue 17): a 4 KiB READ_PA round trip and the
 * breakpoint round trip (EV_BREAKPOINT at the tool -> EVENT_REPLY continue
 * done) over loopback TCP with TLS 1.3, against the same over plain TCP,
 * in this run.  Plain TCP is the session server's bench-only tcp_plain
 * listener and libqvmi's internal attach without TLS; nothing else
 * differs.  The two are measured in alternating phases (plain, TLS,
 * plain, TLS), each with its own qvmid session server on the demo guest
 * (shared RAM, the gdbstub), so that the neighbours' load hits both.
 * Goal: TLS within 1.2x of plain.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "core/internal.h"
#include "proto/session.h"
#include "../daemon/session-server.h"

enum { MAX_READS = 4000, MAX_HITS = 40, PHASES = 4 };

struct phase {
	struct qvmid_session_server *s;
	pthread_t thr;
	int rc;
	uint8_t key[32];
	char keyfile[108];
};

static void *phase_main(void *arg)
{
	struct phase *p = arg;

	p->rc = qvmid_session_server_run(p->s);
	return NULL;
}

/* libqvmi's session client on plain TCP (no TLS): internal attach. */
static int open_plain(struct qvmi_ctx *tool, struct phase *p, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct qvmi_ses_key k = { 0 };
	int one = 1, err, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    fcntl(fd, F_SETFL, O_NONBLOCK)) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	err = qvmi__ses_key_set(&k, p->key, sizeof(p->key));
	if (!err)
		err = qvmi__ses_client_attach(tool, fd, &k, QVMI_SES_TLS_NONE,
					      5000, "bench");
	else
		close(fd);
	qvmi__ses_key_clear(&k);
	return err;
}

static int open_tool(struct phase *p, bool tls, int port, struct qvmi_ctx **ret)
{
	QVMI_OPTS(qvmi_session_opts, so, .key_path = p->keyfile);
	char addr[64];
	int fd, err = qvmi_ctx_create(ret);

	snprintf(p->keyfile, sizeof(p->keyfile), "/tmp/qvmi-bench-tls-%d.key",
		 (int)getpid());
	fd = open(p->keyfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, p->key, sizeof(p->key)) != sizeof(p->key))
		err = -EIO;
	if (fd >= 0)
		close(fd);
	snprintf(addr, sizeof(addr), "tcp:127.0.0.1:%d", port);
	if (!err)
		err = tls ? qvmi_session_open(*ret, addr, &so) :
			    open_plain(*ret, p, port);
	unlink(p->keyfile);
	if (err)
		fprintf(stderr, "bench tls: open: %s\n",
			*ret ? qvmi_errmsg(*ret) : "no memory");
	return err;
}

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* n 4 KiB reads of 64 pages, the tool's cache off: ms each; *cpu += the
 * process's CPU seconds (tool and qvmid threads) per read. */
static int reads(struct qvmi_ctx *tool, double *lat, int n, double *cpu)
{
	static uint8_t buf[4096];
	double c0 = cpu_now();
	int err = 0;

	qvmi_cache_set_mode(tool, QVMI_CACHE_OFF);
	for (int i = 0; i < n && !err; i++) {
		double t0 = bench_now();

		err = qvmi_read_pa(tool, 0x100000 + (uint64_t)(i % 64) * 4096,
				   buf, sizeof(buf));
		lat[i] = (bench_now() - t0) * 1e3;
	}
	*cpu += (cpu_now() - c0) / n;
	if (err)
		fprintf(stderr, "bench tls: read: %s\n", qvmi_errmsg(tool));
	return err;
}

static int attach(const char *qmp, struct qvmi_ctx **ctx)
{
	QVMI_OPTS(qvmi_attach_opts, o, .sources = QVMI_SRC_SHM);
	int err = qvmi_ctx_create(ctx);

	if (!err)
		err = qvmi_attach_qmp(*ctx, qmp, &o);
	if (err)
		fprintf(stderr, "bench tls: attach: %s\n",
			*ctx ? qvmi_errmsg(*ctx) : "no memory");
	return err;
}

/* One phase: qvmid's server (tcp, plain or TLS) on its own ctx, whose
 * destruction lets the gdbstub go for the next phase; a tool. */
static int phase(const char *qmp, bool tls, uint64_t bp, double *rl, int nr,
		 double *bl, int nb, double *cpu)
{
	struct qvmid_session_opts o = { .tcp_addr = "127.0.0.1:0",
					.tcp_plain = !tls,
					.gdb_path = bench_gdb_path };
	struct qvmi_ctx *tool = NULL, *ctx = NULL;
	struct phase p = { 0 };
	int err;

	if (getrandom(p.key, sizeof(p.key), 0) != (ssize_t)sizeof(p.key))
		return -EIO;
	o.key = p.key;
	o.key_len = sizeof(p.key);
	err = attach(qmp, &ctx);
	if (!err)
		err = qvmid_session_server_create(ctx, NULL, &o, &p.s);
	if (!err)
		err = -pthread_create(&p.thr, NULL, phase_main, &p);
	if (err) {
		fprintf(stderr, "bench tls: qvmid: %s\n", strerror(-err));
		qvmid_session_server_destroy(p.s);
		qvmi_ctx_destroy(ctx);
		return err;
	}
	err = open_tool(&p, tls, qvmid_session_server_tcp_port(p.s), &tool);
	if (!err)
		err = reads(tool, rl, nr, cpu);
	if (!err && nb)
		err = bench_bp_round_trips(tool, bp, bl, nb);
	if (err && tool)
		fprintf(stderr, "bench tls: %s\n", qvmi_errmsg(tool));
	qvmi_ctx_destroy(tool);
	qvmid_session_server_stop(p.s);
	pthread_join(p.thr, NULL);
	qvmid_session_server_destroy(p.s);
	qvmi_ctx_destroy(ctx);
	return err;
}

/* The sleeper's syscall: where the breakpoint goes. */
static int setup(const char *qmp, uint64_t *bp)
{
	struct qvmi_linux *lx = NULL;
	struct qvmi_ctx *ctx = NULL;
	int err = attach(qmp, &ctx);

	if (!err)
		err = qvmi_linux_open(ctx, NULL, &lx);
	if (!err)
		err = qvmi_linux_sym_addr(lx, "__x64_sys_clock_nanosleep", bp);
	if (err && ctx)
		fprintf(stderr, "bench tls: %s\n", qvmi_errmsg(ctx));
	qvmi_linux_destroy(lx);
	qvmi_ctx_destroy(ctx);
	return err;
}

static void rows(const char *what, double *tls, double *plain, int n)
{
	char w[160];

	bench_sort(tls, (size_t)n);
	bench_sort(plain, (size_t)n);
	snprintf(w, sizeof(w), "%s over TCP with TLS 1.3, p50", what);
	bench_row(w, tls[n / 2] * 1e3, "us", plain[n / 2] * 1e3,
		  "plain TCP p50", "<= 1.2x");
	snprintf(w, sizeof(w), "%s over TCP with TLS 1.3, p99", what);
	bench_row(w, tls[n - 1 - n / 100] * 1e3, "us",
		  plain[n - 1 - n / 100] * 1e3, "plain TCP p99", NULL);
}

int bench_tls(const char *qmp)
{
	static double rt[MAX_READS], rp[MAX_READS];
	double bt[MAX_HITS], bpl[MAX_HITS];
	int nr = (bench_quick ? 400 : MAX_READS) / (PHASES / 2),
	    nb = (bench_quick ? 10 : MAX_HITS) / (PHASES / 2);
	double cpu[2] = { 0, 0 }; /* plain, TLS */
	uint64_t bp = 0;
	int err;

	if (!qmp || !bench_gdb_path) {
		fprintf(stderr, "bench tls: needs --qmp and --gdb\n");
		return 0;
	}
	err = setup(qmp, &bp);
	for (int i = 0; i < PHASES && !err; i++) {
		bool tls = i & 1;
		int k = i / 2;

		err = phase(qmp, tls, bp, (tls ? rt : rp) + k * nr, nr,
			    (tls ? bt : bpl) + k * nb, nb, &cpu[tls]);
	}
	if (err)
		return -1;
	rows("session 4 KiB READ_PA round trip", rt, rp, nr * PHASES / 2);
	/* Wall time here is mostly two wake-ups per round trip on a loaded
	 * VM; CPU time is what TLS itself adds. */
	bench_row("session 4 KiB READ_PA round trip over TCP with TLS 1.3, "
		  "CPU (tool + qvmid threads)",
		  cpu[1] / (PHASES / 2) * 1e6, "us",
		  cpu[0] / (PHASES / 2) * 1e6, "plain TCP CPU", NULL);
	rows("session breakpoint round trip (EV_BREAKPOINT at the tool -> "
	     "EVENT_REPLY continue done)",
	     bt, bpl, nb * PHASES / 2);
	return 0;
}
