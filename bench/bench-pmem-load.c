// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * qvmid's pmemaccess server under load (issue 18 item 4): 32 concurrent
 * clients, each one connection reading 4 KiB at random from pages the
 * RAM file holds, against the same clients on a thread-per-connection
 * server (blocking recv, pread from the RAM file, send) over the same
 * file, in the same run.  Aggregate reads per second; rounds alternate
 * between the two servers and each reports its best round, so a burst of
 * other work on this shared machine hits neither figure alone.
 *
 * The qvmid server runs as qvmid runs it: in-process, over a ctx mapping
 * the file (the shm source), a worker per connection up to qvmid's
 * default of 64 (QVMI_BENCH_WORKERS=N to try others: 2 is the old
 * default of one per CPU here).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "core/internal.h"
#include "source/sources.h"
#include "proto/pmemaccess.h"
#include "../daemon/pmem-server.h"

enum { CLIENTS = 32, PAGE = 4096, ROUNDS = 3, PAGES_MAX = 1 << 16 };

struct load {
	const uint64_t *pages;
	size_t npages, per_client;
	const char *path;
	pthread_barrier_t go;
	int failed; /* atomic */
};

struct cli {
	struct load *l;
	int fd;
	uint64_t seed;
	double cpu; /* this client thread's CPU seconds */
};

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool recv_all(int fd, void *buf, size_t len)
{
	for (uint8_t *b = buf; len;) {
		ssize_t n = recv(fd, b, len, MSG_WAITALL);

		if (n <= 0)
			return false;
		b += n;
		len -= (size_t)n;
	}
	return true;
}

static bool send_all(int fd, const void *buf, size_t len)
{
	for (const uint8_t *b = buf; len;) {
		ssize_t n = send(fd, b, len, MSG_NOSIGNAL);

		if (n <= 0)
			return false;
		b += n;
		len -= (size_t)n;
	}
	return true;
}

/* One client: per_client reads at random pages, one at a time. */
static void *cli_main(void *arg)
{
	struct cli *c = arg;
	struct load *l = c->l;
	uint8_t h[QVMI_PMEM_REQ_SIZE], buf[PAGE + 1];
	bool ok = c->fd >= 0;

	pthread_barrier_wait(&l->go);
	for (size_t i = 0; ok && i < l->per_client; i++) {
		uint64_t pa = l->pages[bench_rand(&c->seed) % l->npages];

		qvmi__pmem_encode_req(h, QVMI_PMEM_READ, pa, PAGE);
		ok = send_all(c->fd, h, sizeof(h)) &&
		     recv_all(c->fd, buf, PAGE + 1) && buf[PAGE] == 1;
	}
	if (!ok)
		__atomic_store_n(&l->failed, 1, __ATOMIC_RELAXED);
	{
		struct timespec ts;

		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
		c->cpu = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
	}
	return NULL;
}

static double cpu_secs(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

/* Reads per second of CLIENTS clients on l->path; 0 on failure.  *cpu:
 * this process's CPU seconds per read (clients and server). */
static double one_round(struct load *l, uint64_t seed, double *cpu)
{
	pthread_t thr[CLIENTS];
	struct cli c[CLIENTS];
	double t0, c0;

	l->failed = 0;
	pthread_barrier_init(&l->go, NULL, CLIENTS + 1);
	for (int i = 0; i < CLIENTS; i++) {
		c[i] = (struct cli){ l, connect_to(l->path),
				     seed + (uint64_t)i };
		pthread_create(&thr[i], NULL, cli_main, &c[i]);
		pthread_setname_np(thr[i], "bench-cli");
	}
	pthread_barrier_wait(&l->go);
	t0 = bench_now();
	c0 = cpu_secs();
	for (int i = 0; i < CLIENTS; i++)
		pthread_join(thr[i], NULL);
	t0 = bench_now() - t0;
	*cpu = (cpu_secs() - c0) / (double)(CLIENTS * l->per_client);
	{
		double cc = 0;

		for (int i = 0; i < CLIENTS; i++)
			cc += c[i].cpu;
		cc /= (double)(CLIENTS * l->per_client);
		if (getenv("QVMI_BENCH_SPLIT")) /* pmem-notes.md */
			fprintf(stderr,
				"pmem-load round: CPU per read %.2f us in the "
				"clients, %.2f us in the rest (the server)\n",
				cc * 1e6, *cpu * 1e6 - cc * 1e6);
	}
	for (int i = 0; i < CLIENTS; i++)
		if (c[i].fd >= 0)
			close(c[i].fd);
	pthread_barrier_destroy(&l->go);
	return l->failed ? 0 : (double)(CLIENTS * l->per_client) / t0;
}

/* ---- the baseline: a thread per connection ---------------------------- */

struct tpc {
	int lfd, file_fd;
	uint64_t size;
};

struct tpc_conn {
	int fd, file_fd;
	uint64_t size;
};

static void *tpc_conn_main(void *arg)
{
	struct tpc_conn *t = arg;
	uint8_t h[QVMI_PMEM_REQ_SIZE], buf[PAGE + 1];
	struct qvmi_pmem_req r;

	while (recv_all(t->fd, h, sizeof(h))) {
		qvmi__pmem_decode_req(h, &r);
		if (r.type != QVMI_PMEM_READ || r.length > PAGE ||
		    r.address > t->size - r.length)
			break;
		buf[r.length] = pread(t->file_fd, buf, r.length,
				      (off_t)r.address) == (ssize_t)r.length;
		if (!send_all(t->fd, buf, r.length + 1))
			break;
	}
	close(t->fd);
	free(t);
	return NULL;
}

static void *tpc_main(void *arg)
{
	struct tpc *s = arg;
	int fd;

	while ((fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		struct tpc_conn *t = malloc(sizeof(*t));
		pthread_t thr;

		if (!t) {
			close(fd);
			continue;
		}
		*t = (struct tpc_conn){ fd, s->file_fd, s->size };
		if (pthread_create(&thr, NULL, tpc_conn_main, t)) {
			close(fd);
			free(t);
			continue;
		}
		pthread_setname_np(thr, "bench-tpc"); /* perf --sort comm */
		pthread_detach(thr);
	}
	return NULL;
}

static int tpc_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(fd, 128)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* ---- the two servers, rounds in turn ------------------------------------ */

/* Up to PAGES_MAX pages the file holds, spread over all of its data. */
static size_t data_pages(int fd, uint64_t size, uint64_t *out)
{
	size_t n = 0, stride = 1;

	for (int pass = 0; pass < 2; pass++) {
		off_t pos = 0;
		size_t seen = 0;

		n = 0;
		while ((uint64_t)pos < size && n < PAGES_MAX) {
			off_t d = lseek(fd, pos, SEEK_DATA), h;

			if (d < 0)
				break;
			h = lseek(fd, d, SEEK_HOLE);
			for (pos = d; pos + PAGE <= h && n < PAGES_MAX;
			     pos += PAGE)
				if (!(seen++ % stride))
					out[n++] = (uint64_t)pos;
			pos = h;
		}
		if (seen <= PAGES_MAX)
			break;
		stride = seen / PAGES_MAX + 1;
	}
	return n;
}

struct qsrv {
	struct qvmid_pmem_server *s;
	int rc;
};

static void *qsrv_main(void *arg)
{
	struct qsrv *q = arg;

	q->rc = qvmid_pmem_server_run(q->s);
	return NULL;
}

/* Alternate rounds: best reads/s of qvmid (best[0]) and the baseline. */
static int measure(struct qvmi_ctx *ctx, int fd, uint64_t size,
		   const uint64_t *pages, size_t np, double best[2],
		   double cpu_best[2])
{
	struct qvmid_pmem_opts o = { .workers = QVMID_PMEM_WORKERS_DEFAULT };

	if (getenv("QVMI_BENCH_WORKERS"))
		o.workers = (unsigned)atoi(getenv("QVMI_BENCH_WORKERS"));
	char qpath[108], tpath[108];
	struct tpc t = { -1, fd, size };
	struct qsrv q = { 0 };
	pthread_t qthr, tthr;
	struct load l = { .pages = pages, .npages = np };
	int err;

	snprintf(qpath, sizeof(qpath), "/tmp/qvmi-bench-load-%d.q",
		 (int)getpid());
	snprintf(tpath, sizeof(tpath), "/tmp/qvmi-bench-load-%d.t",
		 (int)getpid());
	l.per_client = bench_quick ? 1000 : 4000;
	err = qvmid_pmem_server_create(ctx, qpath, &o, &q.s);
	if (err)
		return err;
	t.lfd = tpc_listen(tpath);
	pthread_create(&qthr, NULL, qsrv_main, &q);
	if (t.lfd >= 0)
		pthread_create(&tthr, NULL, tpc_main, &t);
	for (int r = 0; t.lfd >= 0 && r < 2 * ROUNDS && !err; r++) {
		int who = (r + (r / 2)) % 2; /* q t t q q t: neither first */
		const char *only = getenv("QVMI_BENCH_ONLY"); /* q or t: perf */
		double v, cpu;

		if (only && *only != "qt"[who])
			continue;

		l.path = who ? tpath : qpath;
		v = one_round(&l, 0x51ed + (uint64_t)r * 977, &cpu);
		if (v <= 0)
			err = -EIO;
		best[who] = QVMI_MAX(best[who], v);
		if (!cpu_best[who] || cpu < cpu_best[who])
			cpu_best[who] = cpu;
	}
	qvmid_pmem_server_stop(q.s);
	pthread_join(qthr, NULL);
	qvmid_pmem_server_destroy(q.s);
	if (t.lfd >= 0) {
		shutdown(t.lfd, SHUT_RDWR);
		pthread_join(tthr, NULL);
		close(t.lfd);
		unlink(tpath);
	} else {
		err = -errno;
	}
	return err;
}

/* Keep the pages whose file offset is their guest-physical address (a
 * guest's RAM below 4 GiB), so both servers read the same bytes. */
static size_t same_offset(struct qvmi_ctx *ctx, int fd, uint64_t *pages,
			  size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		struct qvmi_pa_file f;

		if (!qvmi__pa_file(ctx, pages[i], PAGE, &f) &&
		    f.off == pages[i] && f.len == PAGE) {
			struct stat a, b;

			if (!fstat(f.fd, &a) && !fstat(fd, &b) &&
			    a.st_ino == b.st_ino && a.st_dev == b.st_dev)
				pages[k++] = pages[i];
		}
	}
	return k;
}

static int pmem_load(struct qvmi_ctx *ctx, int fd, uint64_t size,
		     const char *goal, bool guest)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	uint64_t *pages = malloc(PAGES_MAX * sizeof(*pages));
	double best[2] = { 0, 0 }, cpu[2] = { 0, 0 };
	char what[200];
	size_t np;
	int err = -ENOMEM;

	/* as qvmid: a client gone mid-reply must not kill the server */
	sigaction(SIGPIPE, &ign, &old);
	np = pages ? data_pages(fd, size, pages) : 0;
	if (guest)
		np = same_offset(ctx, fd, pages, np);
	if (np >= 1024)
		err = measure(ctx, fd, size, pages, np, best, cpu);
	else if (pages)
		err = -ENOENT;
	sigaction(SIGPIPE, &old, NULL);
	free(pages);
	if (err) {
		fprintf(stderr, "bench: pmem load: %s\n", strerror(-err));
		return err;
	}
	snprintf(what, sizeof(what),
		 "qvmid pmemaccess, %d clients x 4 KiB random reads, %s: "
		 "%llu MiB %s",
		 CLIENTS,
		 getenv("QVMI_BENCH_WORKERS") ? "workers as set" :
						"a worker each",
		 (unsigned long long)(size >> 20),
		 guest ? "guest (its RAM file)" : "sparse RAM file");
	bench_row(what, best[0] / 1e3, "k reads/s", best[1] / 1e3,
		  "thread-per-connection server, same file and clients", goal);
	snprintf(what, sizeof(what),
		 "CPU per read, clients and server (the same load): %llu MiB "
		 "%s",
		 (unsigned long long)(size >> 20),
		 guest ? "guest" : "sparse RAM file");
	bench_row(what, cpu[0] * 1e6, "us", cpu[1] * 1e6,
		  "thread-per-connection server", NULL);
	return 0;
}

int bench_pmem_load(struct qvmi_ctx *ctx, int fd, uint64_t size,
		    const char *goal)
{
	return pmem_load(ctx, fd, size, goal, false);
}

/* The section "pmem-load": the same on a live guest's shared RAM. */
int bench_pmem_load_guest(const char *qmp)
{
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_pa_file f;
	struct stat st;
	int err, fd = -1;

	if (!qmp) {
		printf("<!-- pmem-load: skipped, no --qmp guest -->\n");
		return 0;
	}
	err = qvmi_ctx_create(&ctx);
	if (!err)
		err = qvmi_attach_qmp(ctx, qmp, NULL);
	if (!err)
		err = qvmi__pa_file(ctx, 0x100000, PAGE, &f);
	if (!err)
		fd = fcntl(f.fd, F_DUPFD_CLOEXEC, 0);
	if (!err && (fd < 0 || fstat(fd, &st)))
		err = -errno;
	if (!err)
		err = pmem_load(ctx, fd, (uint64_t)st.st_size, ">= 0.9x", true);
	else
		fprintf(stderr, "bench: pmem-load: %s: no shared RAM file\n",
			qmp);
	if (fd >= 0)
		close(fd);
	qvmi_ctx_destroy(ctx);
	return err;
}
