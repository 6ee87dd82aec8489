// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * qvmid's KVMi front-end with a fake QEMU 7.2 behind its ctx
 * (query-status, query-cpus-fast, the real "info registers" text of a
 * 2-vCPU pc guest, stop/cont with their events): PAUSE_VCPU and its
 * events, the vCPU state and its cache, MSRs, EVENT_REPLY checks.
 */
#include <json-c/json.h>

#include "fakeqmp.h"
#include "kvmi-rig.h"
#include "testdata.h"
#include "proto/qmp.h"

struct fake {
	pthread_mutex_t lock;
	bool running;
	int stops, conts, hmps;
	char *regs; /* "info registers -a" of a pc guest, 2 vCPUs */
};

static char *fake_reply(struct json_object *ret, const char *id)
{
	char *r = NULL;

	if (asprintf(&r, "{\"return\": %s, \"id\": %s}\r\n",
		     json_object_to_json_string_ext(ret,
						    JSON_C_TO_STRING_PLAIN),
		     id) < 0)
		r = NULL;
	json_object_put(ret);
	return r;
}

static struct json_object *cpus_fast(void)
{
	struct json_object *a = json_object_new_array();

	for (int i = 0; i < 2; i++) {
		struct json_object *c = json_object_new_object();
		char path[64];

		snprintf(path, sizeof(path), "/machine/unattached/device[%d]",
			 i);
		json_object_object_add(c, "cpu-index", json_object_new_int(i));
		json_object_object_add(c, "qom-path",
				       json_object_new_string(path));
		json_object_object_add(c, "thread-id",
				       json_object_new_int(1000 + i));
		json_object_array_add(a, c);
	}
	return a;
}

static char *fake_qemu(struct json_object *req, const char *id, void *arg)
{
	struct fake *f = arg;
	struct json_object *ex = NULL, *ret;
	const char *cmd;
	const char *ev = "";
	char *r = NULL, *body;

	json_object_object_get_ex(req, "execute", &ex);
	cmd = ex ? json_object_get_string(ex) : "";
	pthread_mutex_lock(&f->lock);
	if (!strcmp(cmd, "query-status")) {
		ret = json_object_new_object();
		json_object_object_add(
			ret, "status",
			json_object_new_string(f->running ? "running" :
							    "paused"));
		json_object_object_add(ret, "running",
				       json_object_new_boolean(f->running));
	} else if (!strcmp(cmd, "query-cpus-fast")) {
		ret = cpus_fast();
	} else if (!strcmp(cmd, "human-monitor-command")) {
		f->hmps++;
		ret = json_object_new_string(f->regs);
	} else {
		if (!strcmp(cmd, "stop")) {
			f->stops++;
			f->running = false;
			ev = "{\"timestamp\": {\"seconds\": 1, \"microseconds\": "
			     "2}, \"event\": \"STOP\"}\r\n";
		} else if (!strcmp(cmd, "cont")) {
			f->conts++;
			f->running = true;
			ev = "{\"timestamp\": {\"seconds\": 1, \"microseconds\": "
			     "3}, \"event\": \"RESUME\"}\r\n";
		}
		ret = json_object_new_object();
	}
	pthread_mutex_unlock(&f->lock);
	body = fake_reply(ret, id);
	if (body && asprintf(&r, "%s%s", ev, body) < 0)
		r = NULL;
	free(body);
	return r;
}

static const struct fq_step serve_script[] = {
	{ FQ_SEND, FQ_GREETING },
	{ FQ_EXPECT, "qmp_capabilities" },
	{ FQ_SEND, FQ_OK },
	{ FQ_SERVE },
	{ FQ_END },
};

struct qrig {
	struct rig *r;
	struct fake fake;
	struct fakeqmp *f;
};

static void qrig_free(void *arg)
{
	struct qrig *q = arg;
	char msg[256];

	rig_stop(q->r); /* the server's thread first: it uses the QMP */
	qvmid_kvmi_destroy(q->r->k); /* may continue the VM over QMP */
	q->r->k = NULL;
	qvmi_ctx_destroy(q->r->ctx); /* closes the QMP connection */
	q->r->ctx = NULL;
	if (q->f)
		fakeqmp_finish(q->f, msg, sizeof(msg));
	pthread_mutex_destroy(&q->fake.lock);
	free(q->fake.regs);
	free(q);
}

static struct qrig *qstarted(struct qvmid_kvmi_opts *o)
{
	struct qrig *q = calloc(1, sizeof(*q));
	struct qvmid_kvmi_opts def = { 0 };
	struct qvmi_qmp *qmp;
	int fd;

	CHECK(q != NULL);
	q->r = rig_new();
	pthread_mutex_init(&q->fake.lock, NULL);
	qvmi_test_defer(qrig_free, q);
	q->fake.running = true;
	q->fake.regs = qvmi_test_data("hmp/regs-a-pc-smp2.txt", NULL);
	CHECK(q->fake.regs != NULL);
	q->f = fakeqmp_start(serve_script, fake_qemu, &q->fake, &fd);
	CHECK(q->f != NULL);
	CHECK_OK(qvmi__qmp_open_fd(q->r->ctx, fd, 2000, &qmp));
	q->r->ctx->qmp = qmp;
	q->r->ctx->qmp_close = qvmi__qmp_close;
	CHECK_OK(qvmi__ctl_qmp_install(q->r->ctx, qmp));
	rig_start(q->r, o ? o : &def);
	tool_accept(q->r, 96, NULL);
	return q;
}

static int fake_count(struct qrig *q, const int *field)
{
	int v;

	pthread_mutex_lock(&q->fake.lock);
	v = *field;
	pthread_mutex_unlock(&q->fake.lock);
	return v;
}

struct tev {
	uint32_t seq;
	uint16_t size, vcpu;
	uint8_t event;
	uint8_t b[600];
};

/* One message: an event into e (true), or the reply to (id, seq)
 * (false, its error code in *err). */
static bool read_msg(struct rig *r, struct tev *e, uint16_t id, uint32_t seq,
		     int32_t *err)
{
	uint8_t h[8];
	struct qvmi_kvmi_hdr hh;
	const char *why;

	read_all(r->fd, h, 8);
	CHECK_OK(qvmi__kvmi_hdr_decode(h, &hh, &why));
	CHECK(hh.size <= sizeof(e->b));
	read_all(r->fd, e->b, hh.size);
	if (hh.id != QVMI_KVMI_EVENT) {
		CHECK_INT(hh.id, ==, id);
		CHECK_INT(hh.seq, ==, seq);
		*err = (int32_t)qvmi__kvmi_u32(e->b);
		return false;
	}
	e->seq = hh.seq;
	e->size = hh.size;
	e->vcpu = qvmi__kvmi_u16(e->b + 2);
	e->event = e->b[4];
	return true;
}

/* libkvmi's kvmi_pause_all_vcpus: the closing reply and the two PAUSE
 * events, in whatever order they come (libkvmi queues events). */
static void pause_2(struct rig *r, struct tev ev[2])
{
	uint8_t off[8] = { 0, 1 }, on[8] = { 1, 1 }, p[16] = { 0 };
	uint32_t seq;
	int32_t err = -1;
	int nev = 0, nrep = 0;

	send_msg(r, QVMI_KVMI_CONTROL_CMD_RESPONSE, off, 8);
	for (int v = 0; v < 2; v++) {
		qvmi__kvmi_put16(p, (uint16_t)v);
		p[8] = 1;
		send_msg(r, QVMI_KVMI_PAUSE_VCPU, p, 16);
	}
	seq = send_msg(r, QVMI_KVMI_CONTROL_CMD_RESPONSE, on, 8);
	while (nev + nrep < 3) {
		struct tev t;

		if (read_msg(r, &t, QVMI_KVMI_CONTROL_CMD_RESPONSE, seq,
			     &err)) {
			CHECK(nev < 2);
			ev[nev++] = t;
		} else {
			CHECK_INT(err, ==, 0);
			nrep++;
		}
	}
	CHECK_INT(nrep, ==, 1);
}

static void send_reply(struct rig *r, uint32_t seq, uint16_t vcpu,
		       uint8_t action, uint8_t event, size_t extra)
{
	uint8_t b[8 + 16 + 16] = { 0 };
	struct qvmi_kvmi_hdr h = { QVMI_KVMI_EVENT_REPLY,
				   (uint16_t)(16 + extra), seq };

	qvmi__kvmi_hdr_encode(&h, b);
	qvmi__kvmi_put16(b + 8, vcpu);
	b[16] = action;
	b[17] = event;
	CHECK_INT(write(r->fd, b, 8 + 16 + extra), ==, (ssize_t)(24 + extra));
}

static void pause_events_and_resume(void)
{
	struct qrig *q = qstarted(NULL);
	struct rig *r = q->r;
	struct tev ev[2];
	uint8_t req[16 + 8] = { 0 }, b[1024];
	size_t n;

	pause_2(r, ev);
	CHECK_INT(fake_count(q, &q->fake.stops), ==, 1);
	for (int i = 0; i < 2; i++) {
		CHECK_INT(ev[i].event, ==, QVMI_KVMI_EV_PAUSE_VCPU);
		CHECK_INT(ev[i].vcpu, ==, i);
		CHECK_INT(ev[i].size, ==, 544);
		CHECK_INT(ev[i].b[8], ==, 8); /* long mode */
		/* kvm_sregs.cs.selector at 160 + 12 */
		CHECK_INT(qvmi__kvmi_u16(ev[i].b + 160 + 12), ==, 0x10);
	}
	CHECK(ev[1].seq == ev[0].seq + 1);
	/* vCPU 0's RIP and EFER from the text */
	CHECK_U64(qvmi__kvmi_u64(ev[0].b + 16 + 128), ==,
		  0xffffffff8ac3fc9bull);
	CHECK_U64(qvmi__kvmi_u64(ev[0].b + 472 + 24), ==, 0xd01);
	/* GET_REGISTERS while paused: cached, no more HMP; EFER exact */
	qvmi__kvmi_put16(req + 8, 2);
	qvmi__kvmi_put32(req + 16, 0xc0000080);
	qvmi__kvmi_put32(req + 20, 0xc0000101);
	for (int i = 0; i < 5; i++) {
		CHECK_INT(call(r, QVMI_KVMI_GET_REGISTERS, req, 24, b,
			       sizeof(b), &n),
			  ==, 0);
		CHECK_INT(n, ==, 472 + 32);
	}
	CHECK_INT(fake_count(q, &q->fake.hmps), ==, 2);
	CHECK_U64(qvmi__kvmi_u64(b + 472 + 8), ==, 0xd01);
	CHECK_U64(qvmi__kvmi_u64(b + 472 + 16 + 8), ==, 0xffff8bc55f400000ull);
	/* LSTAR: no stock source */
	qvmi__kvmi_put32(req + 20, 0xc0000082);
	CHECK_INT(call(r, QVMI_KVMI_GET_REGISTERS, req, 24, b, sizeof(b), &n),
		  ==, -EINVAL);
	/* the first CONTINUE does not resume; the second does */
	send_reply(r, ev[0].seq, 0, QVMI_KVMI_CONTINUE, QVMI_KVMI_EV_PAUSE_VCPU,
		   0);
	CHECK_INT(call(r, QVMI_KVMI_GET_VERSION, NULL, 0, NULL, 0, NULL), ==,
		  0);
	CHECK_INT(fake_count(q, &q->fake.conts), ==, 0);
	send_reply(r, ev[1].seq, 1, QVMI_KVMI_CONTINUE, QVMI_KVMI_EV_PAUSE_VCPU,
		   0);
	CHECK_INT(call(r, QVMI_KVMI_GET_VERSION, NULL, 0, NULL, 0, NULL), ==,
		  0);
	CHECK_INT(fake_count(q, &q->fake.conts), ==, 1);
	/* bad vCPU */
	memset(req, 0, 16);
	qvmi__kvmi_put16(req, 2);
	CHECK_INT(call(r, QVMI_KVMI_PAUSE_VCPU, req, 16, NULL, 0, NULL), ==,
		  -EINVAL);
}

static void unknown_msr_zero(void)
{
	struct qvmid_kvmi_opts o = { .unknown_msr_zero = true };
	struct qrig *q = qstarted(&o);
	uint8_t req[16 + 4] = { 0 }, b[1024];
	size_t n;

	qvmi__kvmi_put16(req + 8, 1);
	qvmi__kvmi_put32(req + 16, 0xc0000082);
	CHECK_INT(call(q->r, QVMI_KVMI_GET_REGISTERS, req, 20, b, sizeof(b),
		       &n),
		  ==, 0);
	CHECK_INT(n, ==, 472 + 16);
	CHECK_INT(qvmi__kvmi_u32(b + 472), ==, 0xc0000082);
	CHECK_U64(qvmi__kvmi_u64(b + 472 + 8), ==, 0);
	/* not paused: every read asks QEMU */
	CHECK_INT(call(q->r, QVMI_KVMI_GET_REGISTERS, req, 20, b, sizeof(b),
		       &n),
		  ==, 0);
	CHECK_INT(fake_count(q, &q->fake.hmps), ==, 2);
}

/* Each bad EVENT_REPLY closes the connection, and the VM this connection
 * stopped continues. */
static void bad_event_replies(void)
{
	static const struct {
		int seq_off, vcpu, action, event;
		size_t extra;
	} bad[] = {
		{ 1, 0, QVMI_KVMI_CONTINUE, QVMI_KVMI_EV_PAUSE_VCPU, 0 },
		{ 0, 1, QVMI_KVMI_CONTINUE, QVMI_KVMI_EV_PAUSE_VCPU, 0 },
		{ 0, 0, QVMI_KVMI_CONTINUE, QVMI_KVMI_EV_BREAKPOINT, 0 },
		{ 0, 0, QVMI_KVMI_CONTINUE, QVMI_KVMI_EV_PAUSE_VCPU, 8 },
		{ 0, 7, QVMI_KVMI_CONTINUE, QVMI_KVMI_EV_PAUSE_VCPU, 0 },
		{ 0, 0, QVMI_KVMI_CRASH, QVMI_KVMI_EV_PAUSE_VCPU, 0 },
		{ 0, 0, 9, QVMI_KVMI_EV_PAUSE_VCPU, 0 },
	};
	struct qrig *q = qstarted(NULL);
	struct rig *r = q->r;

	for (size_t i = 0; i < QVMI_ARRAY_SIZE(bad); i++) {
		struct tev ev[2];

		pause_2(r, ev);
		CHECK_INT(fake_count(q, &q->fake.stops), ==, (int)i + 1);
		send_reply(r, ev[0].seq + (uint32_t)bad[i].seq_off,
			   (uint16_t)bad[i].vcpu, (uint8_t)bad[i].action,
			   (uint8_t)bad[i].event, bad[i].extra);
		expect_eof(r->fd);
		tool_accept(r, 96, NULL);
		CHECK_MSG(fake_count(q, &q->fake.conts) == (int)i + 1,
			  "case %zu: the VM was not continued", i);
	}
	rig_stop(r);
	CHECK_INT(r->st.bad_frames, ==, (int)QVMI_ARRAY_SIZE(bad) - 2);
}

/* The tool goes away in the middle of a pause: the VM continues. */
static void close_mid_pause(void)
{
	struct qrig *q = qstarted(NULL);
	struct tev ev[2];

	pause_2(q->r, ev);
	close(q->r->fd);
	q->r->fd = -1;
	tool_accept(q->r, 96, NULL);
	CHECK_INT(fake_count(q, &q->fake.conts), ==, 1);
	/* someone else's pause is theirs: no cont when we end */
	pthread_mutex_lock(&q->fake.lock);
	q->fake.running = false;
	pthread_mutex_unlock(&q->fake.lock);
	pause_2(q->r, ev);
	close(q->r->fd);
	q->r->fd = -1;
	tool_accept(q->r, 96, NULL);
	CHECK_INT(fake_count(q, &q->fake.stops), ==, 1);
	CHECK_INT(fake_count(q, &q->fake.conts), ==, 1);
}

static const struct qvmi_test kvmi_events_tests[] = {
	{ "pause_events_and_resume", pause_events_and_resume },
	{ "unknown_msr_zero", unknown_msr_zero },
	{ "bad_event_replies", bad_event_replies },
	{ "close_mid_pause", close_mid_pause },
};
QVMI_SUITE(kvmi_events, kvmi_events_tests);
