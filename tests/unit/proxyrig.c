// SPDX-License-Identifier: LGPL-2.1-or-later
/* qvmid's QMP proxy under test (see proxyrig.h). */
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fakeqmp.h"
#include "harness.h"
#include "proxyrig.h"
#include "sockcli.h"
#include "qvmi.h"
#include "core/internal.h"
#include "proto/qmp.h"

/* ---- the fake QEMU ------------------------------------------------------ */

static char *fake_qemu(struct json_object *req, const char *id, void *arg)
{
	struct fake *f = arg;
	struct json_object *ex = NULL, *args = NULL;
	const char *cmd;
	char *r = NULL;

	pthread_mutex_lock(&f->lock);
	snprintf(f->last_id, sizeof(f->last_id), "%s", id);
	snprintf(f->last_req, sizeof(f->last_req), "%s",
		 json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN));
	pthread_mutex_unlock(&f->lock);
	json_object_object_get_ex(req, "execute", &ex);
	json_object_object_get_ex(req, "arguments", &args);
	cmd = ex ? json_object_get_string(ex) : "";
	if (!strcmp(cmd, "slow")) {
		poll(NULL, 0, f->slow_ms);
		cmd = "echo";
	}
	if (!strcmp(cmd, "getfd")) {
		int fd = fakeqmp_take_fd();

		/* QEMU 7.2's text (monitor/misc.c qmp_getfd) */
		if (fd < 0)
			asprintf(&r,
				 "{\"id\": %s, \"error\": {\"class\": "
				 "\"GenericError\", \"desc\": \"No file "
				 "descriptor supplied via SCM_RIGHTS\"}}\r\n",
				 id);
		else if (write(fd, "qvmi-fd-ok", 10) != 10)
			r = NULL;
		else
			asprintf(&r, "{\"return\": {}, \"id\": %s}\r\n", id);
		if (fd >= 0)
			close(fd);
	} else if (!strcmp(cmd, "count-fds"))
		asprintf(&r, "{\"return\": %u, \"id\": %s}\r\n",
			 fakeqmp_pending_fds(), id);
	else if (!strcmp(cmd, "query-status"))
		/* QEMU 7.2's reply, byte for byte */
		asprintf(&r,
			 "{\"return\": {\"status\": \"running\", "
			 "\"singlestep\": false, \"running\": true}, "
			 "\"id\": %s}\r\n",
			 id);
	else if (!strcmp(cmd, "noid"))
		/* what QEMU says to a request it cannot parse */
		r = strdup("{\"error\": {\"class\": \"GenericError\", "
			   "\"desc\": \"JSON parse error, stray '-'\"}}\r\n");
	else if (!strcmp(cmd, "fail"))
		asprintf(&r,
			 "{\"id\": %s, \"error\": {\"class\": "
			 "\"GenericError\", \"desc\": \"boom \\\"x\\\"\"}}\r\n",
			 id);
	else if (!strcmp(cmd, "query-commands"))
		asprintf(&r,
			 "{\"return\": [{\"name\": \"query-status\"}, "
			 "{\"name\": \"stop\"}], \"id\": %s}\r\n",
			 id);
	else if (!strcmp(cmd, "stop"))
		asprintf(&r,
			 "{\"timestamp\": {\"seconds\": 1, \"microseconds\": "
			 "2}, \"event\": \"STOP\"}\r\n{\"return\": {}, "
			 "\"id\": %s}\r\n",
			 id);
	else
		asprintf(&r,
			 "{\"return\": {\"cmd\": \"%s\", \"args\": %s}, "
			 "\"id\": %s}\r\n",
			 cmd,
			 args ? json_object_to_json_string_ext(
					args, JSON_C_TO_STRING_PLAIN) :
				"{}",
			 id);
	return r;
}

static const struct fq_step serve_script[] = {
	{ FQ_SEND, FQ_GREETING },
	{ FQ_EXPECT, "qmp_capabilities" },
	{ FQ_SEND, FQ_OK },
	{ FQ_SERVE },
	{ FQ_END },
};

/* ---- the proxy under test ---------------------------------------------- */

static void *proxy_main(void *arg)
{
	struct prig *r = arg;

	r->rc = qvmid_proxy_run(r->p);
	return NULL;
}

void prig_tmp_path(char *buf, size_t n, const char *what)
{
	static int seq;

	snprintf(buf, n, "/tmp/qvmi-test-proxy-%d-%d-%s.sock", (int)getpid(),
		 seq++, what);
}

static void dbg_log(enum qvmi_log_level level, const char *msg, void *arg)
{
	(void)arg;
	fprintf(stderr, "proxy[%d]: %s\n", (int)level, msg);
}

void prig_start(struct prig *r, size_t max_queue)
{
	prig_start_on(r, max_queue, -1);
}

void prig_start_on(struct prig *r, size_t max_queue, int listen_fd)
{
	char spec[32];
	struct qvmid_proxy_opts o = { .max_queue = max_queue,
				      .pmem.max_transfer = PRIG_MEM_SIZE };
	struct qvmi_source *src;

	if (getenv("QVMI_TEST_PROXY_LOG"))
		o.log = dbg_log;
	struct qvmi_qmp *q;
	int fd;

	memset(r, 0, sizeof(*r));
	r->adopted = listen_fd >= 0;
	pthread_mutex_init(&r->fake.lock, NULL);
	r->fake.slow_ms = 300;
	r->mem = malloc(PRIG_MEM_SIZE);
	CHECK(r->mem);
	for (size_t i = 0; i < PRIG_MEM_SIZE; i++)
		r->mem[i] = (uint8_t)(i * 7 + (i >> 12));
	CHECK_OK(qvmi_ctx_create(&r->ctx));
	CHECK_OK(qvmi_source_testmem_create(r->ctx, r->mem, PRIG_MEM_SIZE, 1,
					    &src));
	CHECK_OK(qvmi_map_add(r->ctx, src, 0, PRIG_MEM_SIZE, 0));
	CHECK_OK(qvmi__ram_add(r->ctx, 0, PRIG_MEM_SIZE));
	r->f = fakeqmp_start(serve_script, fake_qemu, &r->fake, &fd);
	CHECK(r->f);
	CHECK_OK(qvmi__qmp_open_fd(r->ctx, fd, 2000, &q));
	r->ctx->qmp = q;
	r->ctx->qmp_close = qvmi__qmp_close;
	if (listen_fd >= 0) {
		struct sockaddr_un sa;
		socklen_t sl = sizeof(sa);

		CHECK_OK(getsockname(listen_fd, (struct sockaddr *)&sa, &sl));
		snprintf(r->path, sizeof(r->path), "%s", sa.sun_path);
		snprintf(spec, sizeof(spec), "fd:%d", listen_fd);
		o.listen_path = spec;
	} else {
		prig_tmp_path(r->path, sizeof(r->path), "qmp");
		o.listen_path = r->path;
	}
	CHECK_OK(qvmid_proxy_create(r->ctx, &o, &r->p));
	CHECK_INT(pthread_create(&r->thr, NULL, proxy_main, r), ==, 0);
}

/* Stop the loop; expect rc.  The fake QEMU then sees EOF. */
void prig_stop(struct prig *r, int rc, struct qvmid_proxy_stats *st)
{
	char msg[256];
	struct stat sb;

	qvmid_proxy_stop(r->p);
	CHECK_INT(pthread_join(r->thr, NULL), ==, 0);
	CHECK_INT(r->rc, ==, rc);
	if (st)
		qvmid_proxy_stats(r->p, st);
	qvmid_proxy_destroy(r->p);
	if (r->adopted) { /* not ours: never unlinked */
		CHECK_MSG(!stat(r->path, &sb), "inherited socket removed");
		unlink(r->path);
	} else {
		CHECK_MSG(stat(r->path, &sb) && errno == ENOENT,
			  "proxy socket left behind");
	}
	qvmi_ctx_destroy(r->ctx); /* closes QMP: the fake sees EOF */
	CHECK_MSG(fakeqmp_finish(r->f, msg, sizeof(msg)) == 0, "peer: %s", msg);
	pthread_mutex_destroy(&r->fake.lock);
	free(r->mem);
}

/* ---- raw clients ------------------------------------------------------- */

char *pcli_line(int fd)
{
	return tcli_line(fd, PRIG_WAIT_MS);
}

void pcli_expect(int fd, const char *send_text, const char *reply)
{
	if (send_text)
		tcli_send_str(fd, send_text);
	CHECK_STR(pcli_line(fd), reply);
}

void pcli_nothing(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };

	CHECK_INT(poll(&p, 1, ms), ==, 0);
}

int pcli_ready(const char *path)
{
	int fd = tcli_connect(path);

	CHECK_STR(pcli_line(fd), "{\"QMP\": {\"version\": {\"qemu\": "
				 "{\"micro\": 22, \"minor\": 2, \"major\": 7}, "
				 "\"package\": \"Debian 1:7.2+dfsg-7+deb12u18+"
				 "b3\"}, \"capabilities\": [\"oob\"]}}");
	pcli_expect(fd, "{\"execute\": \"qmp_capabilities\"}\n",
		    "{\"return\": {}}");
	return fd;
}
