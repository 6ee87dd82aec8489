// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The breakpoint round trip through a qvmid session (issue 6), next to the
 * same round trip on the gdbstub directly, both in this run: a hit on the
 * demo guest's qvmi-sleeper (clock_nanosleep every 100 ms) reaches the
 * tool as EV_BREAKPOINT, the tool answers EVENT_REPLY continue, and the
 * time from the event in the tool's hands to qvmid's reply (the VM running
 * again, stepped over its breakpoint) is measured.  qvmid's session server
 * runs in this process, in a thread, over the same code qvmid runs; the
 * tool talks to it over its unix socket.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "bench.h"
#include "../daemon/session-server.h"

enum { MAX_HITS = 40 };

/* n hits: the stop in the tool's hands -> the continue acknowledged. */
static int round_trips(struct qvmi_ctx *ctx, uint64_t addr, double *lat, int n)
{
	int err = bench_bp_round_trips(ctx, addr, lat, n);

	if (err)
		fprintf(stderr, "bench session: round trip: %s\n",
			qvmi_errmsg(ctx));
	return err;
}

static int open_qmp(const char *qmp, struct qvmi_ctx **ret)
{
	QVMI_OPTS(qvmi_attach_opts, o, .sources = QVMI_SRC_SHM);
	int err = qvmi_ctx_create(ret);

	if (!err)
		err = qvmi_attach_qmp(*ret, qmp, &o);
	if (err)
		fprintf(stderr, "bench session: attach: %s\n",
			*ret ? qvmi_errmsg(*ret) : "no memory");
	return err;
}

/* The sleeper's syscall, then the direct gdbstub round trips. */
static int direct(const char *qmp, uint64_t *addr, double *lat, int n)
{
	QVMI_OPTS(qvmi_gdb_opts, g, .resume = 1);
	struct qvmi_linux *lx = NULL;
	struct qvmi_ctx *ctx = NULL;
	int err = open_qmp(qmp, &ctx);

	if (!err)
		err = qvmi_linux_open(ctx, NULL, &lx);
	if (!err)
		err = qvmi_linux_sym_addr(lx, "__x64_sys_clock_nanosleep",
					  addr);
	if (!err)
		err = qvmi_attach_gdb(ctx, bench_gdb_path, &g);
	if (err && ctx)
		fprintf(stderr, "bench session: %s\n", qvmi_errmsg(ctx));
	if (!err)
		err = round_trips(ctx, *addr, lat, n);
	qvmi_linux_destroy(lx);
	qvmi_ctx_destroy(ctx); /* detaches: QEMU serves one gdb client */
	return err;
}

struct server {
	struct qvmid_session_server *s;
	pthread_t thr;
	int rc;
};

static void *server_main(void *arg)
{
	struct server *sv = arg;

	sv->rc = qvmid_session_server_run(sv->s);
	return NULL;
}

static int write_key(const char *path, const uint8_t *key, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int ok = fd >= 0 && write(fd, key, n) == (ssize_t)n;

	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

/* The same round trips as a tool of qvmid's session server. */
static int via_session(const char *qmp, uint64_t addr, double *lat, int n)
{
	uint8_t key[32];
	char sock[108], keyfile[108];
	struct qvmid_session_opts o = { .key = key,
					.key_len = sizeof(key),
					.gdb_path = bench_gdb_path };
	QVMI_OPTS(qvmi_session_opts, so, .key_path = keyfile);
	struct qvmi_ctx *ctx = NULL, *tool = NULL;
	struct server sv = { 0 };
	int err;

	if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key))
		return -1;
	snprintf(sock, sizeof(sock), "/tmp/qvmi-bench-ses-%d.sock",
		 (int)getpid());
	snprintf(keyfile, sizeof(keyfile), "/tmp/qvmi-bench-ses-%d.key",
		 (int)getpid());
	err = write_key(keyfile, key, sizeof(key)) ?: open_qmp(qmp, &ctx);
	if (!err)
		err = qvmid_session_server_create(ctx, sock, &o, &sv.s);
	if (!err)
		err = -pthread_create(&sv.thr, NULL, server_main, &sv);
	if (err) {
		fprintf(stderr, "bench session: qvmid: %s\n", strerror(-err));
		goto out;
	}
	err = qvmi_ctx_create(&tool);
	if (!err)
		err = qvmi_session_open(tool, sock, &so);
	if (err)
		fprintf(stderr, "bench session: open: %s\n",
			tool ? qvmi_errmsg(tool) : "no memory");
	else
		err = round_trips(tool, addr, lat, n);
	qvmi_ctx_destroy(tool);
	qvmid_session_server_stop(sv.s);
	pthread_join(sv.thr, NULL);
out:
	qvmid_session_server_destroy(sv.s);
	qvmi_ctx_destroy(ctx);
	unlink(keyfile);
	return err;
}

int bench_session(const char *qmp)
{
	double dl[MAX_HITS], sl[MAX_HITS];
	int n = bench_quick ? 10 : MAX_HITS;
	uint64_t addr = 0;

	if (!qmp || !bench_gdb_path) {
		fprintf(stderr, "bench session: needs --qmp and --gdb\n");
		return 0;
	}
	if (direct(qmp, &addr, dl, n) || via_session(qmp, addr, sl, n))
		return -1;
	bench_sort(dl, (size_t)n);
	bench_sort(sl, (size_t)n);
	bench_row("session breakpoint round trip (EV_BREAKPOINT at the tool "
		  "-> EVENT_REPLY continue done), p50",
		  sl[n / 2] * 1e3, "us", dl[n / 2] * 1e3, "direct gdbstub p50",
		  NULL);
	bench_row("session breakpoint round trip (EV_BREAKPOINT at the tool "
		  "-> EVENT_REPLY continue done), p99",
		  sl[n - 1 - n / 100] * 1e3, "us", dl[n - 1 - n / 100] * 1e3,
		  "direct gdbstub p99", NULL);
	return 0;
}
