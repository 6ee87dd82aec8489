// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The QMP control backend and the xp memory source against a fake QEMU
 * that serves requests (tests/lib/fakeqmp.c): pause/resume/state, events
 * from "another client", registers from a real 7.2 capture, and the page
 * cache serving xp pages only while the VM is paused.
 */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakeqmp.h"
#include "harness.h"
#include "proto/qmp.h"
#include "source/sources.h"
#include "testdata.h"

enum { RAM_BASE = 0x100000, RAM_SIZE = 0x10000 };

struct fake_vm {
	int running;
	int old_qemu; /* no "info registers N" */
	int xp_calls, regs_n_calls, regs_a_calls;
	char *regs; /* "info registers -a" text */
	uint8_t ram[RAM_SIZE];
};

static int get(int *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static void bump(int *p)
{
	__atomic_add_fetch(p, 1, __ATOMIC_SEQ_CST);
}

static char *reply(const char *id, const char *prefix, const char *ret)
{
	char *s;

	if (asprintf(&s, "%s{\"return\": %s, \"id\": %s}\r\n", prefix, ret,
		     id) < 0)
		return NULL;
	return s;
}

static char *hmp_reply(const char *id, const char *text)
{
	struct json_object *o = json_object_new_string(text);
	char *s = reply(id, "",
			json_object_to_json_string_ext(o,
						       JSON_C_TO_STRING_PLAIN));

	json_object_put(o);
	return s;
}

/* "xp /Nxb 0xADDR" the way QEMU 7.2 prints it: 8 bytes a line. */
static char *fake_xp(struct fake_vm *vm, size_t n, uint64_t addr)
{
	char *out = malloc(n * 6 + n / 8 * 24 + 64);
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		uint64_t a = addr + i;

		if (i % 8 == 0) {
			if (i)
				o += (size_t)sprintf(out + o, "\r\n");
			o += (size_t)sprintf(out + o, "%016" PRIx64 ":", a);
			if (a < RAM_BASE || a >= RAM_BASE + RAM_SIZE) {
				sprintf(out + o, " Cannot access memory\r\n");
				return out;
			}
		}
		o += (size_t)sprintf(out + o, " 0x%02x", vm->ram[a - RAM_BASE]);
	}
	sprintf(out + o, "\r\n");
	return out;
}

static char *fake_regs(struct fake_vm *vm, unsigned int cpu)
{
	char hdr[32], *start, *end, *s;

	snprintf(hdr, sizeof(hdr), "CPU#%u\r\n", cpu);
	start = strstr(vm->regs, hdr);
	if (!start) {
		snprintf(hdr, sizeof(hdr), "CPU#%u not available\r\n", cpu);
		return strdup(hdr);
	}
	end = strstr(start + 1, "\r\nCPU#");
	s = strndup(start, end ? (size_t)(end - start) : strlen(start));
	return s;
}

static char *fake_hmp(struct fake_vm *vm, const char *id, const char *cmd)
{
	char *text, *r;
	size_t n;
	uint64_t addr;
	unsigned int cpu;

	if (sscanf(cmd, "xp /%zuxb 0x%" SCNx64, &n, &addr) == 2) {
		bump(&vm->xp_calls);
		text = fake_xp(vm, n, addr);
	} else if (!strcmp(cmd, "info registers -a")) {
		bump(&vm->regs_a_calls);
		text = strdup(vm->regs);
	} else if (sscanf(cmd, "info registers %u", &cpu) == 1) {
		bump(&vm->regs_n_calls);
		/* what a QEMU without the vCPU argument says */
		text = vm->old_qemu ?
			       strdup("info registers: extraneous "
				      "characters at the end of line\r\n") :
			       fake_regs(vm, cpu);
	} else {
		text = strdup("unknown command\r\n");
	}
	r = hmp_reply(id, text);
	free(text);
	return r;
}

static char *fake_qemu(struct json_object *req, const char *id, void *arg)
{
	struct fake_vm *vm = arg;
	struct json_object *ex, *args, *cl;
	const char *cmd;

	if (!json_object_object_get_ex(req, "execute", &ex))
		return NULL;
	cmd = json_object_get_string(ex);
	if (!strcmp(cmd, "qmp_capabilities"))
		return reply(id, "", "{}");
	if (!strcmp(cmd, "query-status"))
		return reply(
			id, "",
			get(&vm->running) ?
				"{\"status\": \"running\", "
				"\"singlestep\": false, \"running\": true}" :
				"{\"status\": \"paused\", "
				"\"singlestep\": false, \"running\": false}");
	if (!strcmp(cmd, "stop")) {
		int was =
			__atomic_exchange_n(&vm->running, 0, __ATOMIC_SEQ_CST);

		return reply(id, was ? "{\"event\": \"STOP\"}\r\n" : "", "{}");
	}
	if (!strcmp(cmd, "cont")) {
		__atomic_store_n(&vm->running, 1, __ATOMIC_SEQ_CST);
		return reply(id, "{\"event\": \"RESUME\"}\r\n", "{}");
	}
	if (!strcmp(cmd, "query-cpus-fast"))
		return reply(id, "",
			     "[{\"thread-id\": 30545, \"cpu-index\": 0}, "
			     "{\"thread-id\": 30546, \"cpu-index\": 1}]");
	if (!strcmp(cmd, "quit"))
		return NULL; /* hang up, like QEMU exiting */
	if (!strcmp(cmd, "human-monitor-command") &&
	    json_object_object_get_ex(req, "arguments", &args) &&
	    json_object_object_get_ex(args, "command-line", &cl))
		return fake_hmp(vm, id, json_object_get_string(cl));
	return reply(id, "", "null");
}

static const struct fq_step serve_script[] = {
	{ FQ_SEND, FQ_GREETING },
	{ FQ_SERVE },
	{ FQ_END },
};

struct rig {
	struct qvmi_ctx *ctx;
	struct fakeqmp *f;
	struct fake_vm *vm;
	struct qvmi_qmp *q;
};

static void rig_up(struct rig *r, int running)
{
	int fd;

	memset(r, 0, sizeof(*r));
	r->vm = calloc(1, sizeof(*r->vm));
	r->vm->running = running;
	r->vm->regs = qvmi_test_data("hmp/regs-a-pc-smp2.txt", NULL);
	CHECK(r->vm->regs);
	for (size_t i = 0; i < RAM_SIZE; i++)
		r->vm->ram[i] = (uint8_t)(i * 13 + (i >> 12));
	CHECK_OK(qvmi_ctx_create(&r->ctx));
	r->f = fakeqmp_start(serve_script, fake_qemu, r->vm, &fd);
	CHECK(r->f);
	CHECK_OK(qvmi__qmp_open_fd(r->ctx, fd, 2000, &r->q));
	/* what attach does: ctx owns the connection */
	r->ctx->qmp = r->q;
	r->ctx->qmp_close = qvmi__qmp_close;
	CHECK_OK(qvmi__ctl_qmp_install(r->ctx, r->q));
}

static void rig_down(struct rig *r)
{
	char msg[256];

	qvmi_ctx_destroy(r->ctx); /* closes the connection */
	CHECK_MSG(fakeqmp_finish(r->f, msg, sizeof(msg)) == 0, "peer: %s", msg);
	free(r->vm->regs);
	free(r->vm);
}

static void test_state_pause_resume(void)
{
	struct rig r;
	enum qvmi_vm_state st;
	struct qvmi_vm_info info;

	rig_up(&r, 1);
	CHECK_INT(r.ctx->vm_state, ==, QVMI_VM_RUNNING);
	CHECK_OK(qvmi_vm_state(r.ctx, &st));
	CHECK_INT(st, ==, QVMI_VM_RUNNING);
	CHECK_INT(qvmi_vcpu_count(r.ctx), ==, 2);
	CHECK_OK(qvmi_vm_info(r.ctx, &info));
	CHECK_INT(info.vcpus, ==, 2);
	CHECK_OK(qvmi_vm_pause(r.ctx));
	CHECK_INT(r.ctx->vm_state, ==, QVMI_VM_PAUSED);
	CHECK_INT(get(&r.vm->running), ==, 0);
	CHECK_OK(qvmi_vm_state(r.ctx, &st));
	CHECK_INT(st, ==, QVMI_VM_PAUSED);
	/* pausing a paused VM: no STOP event, still paused */
	CHECK_OK(qvmi_vm_pause(r.ctx));
	CHECK_INT(r.ctx->vm_state, ==, QVMI_VM_PAUSED);
	CHECK_OK(qvmi_vm_resume(r.ctx));
	CHECK_INT(r.ctx->vm_state, ==, QVMI_VM_RUNNING);
	CHECK_INT(get(&r.vm->running), ==, 1);
	rig_down(&r);

	/* a VM that starts paused (-S / prelaunch) */
	rig_up(&r, 0);
	CHECK_INT(r.ctx->vm_state, ==, QVMI_VM_PAUSED);
	rig_down(&r);
}

static void test_events_from_elsewhere(void)
{
	struct rig r;

	rig_up(&r, 1);
	/* another QMP client (or a gdbstub) stops and resumes the VM */
	fakeqmp_inject(r.f, "{\"event\": \"STOP\"}\r\n");
	for (int i = 0; i < 100 && r.ctx->vm_state != QVMI_VM_PAUSED; i++) {
		CHECK(qvmi__qmp_poll(r.q, 20) >= 0);
	}
	CHECK_INT(r.ctx->vm_state, ==, QVMI_VM_PAUSED);
	fakeqmp_inject(r.f, "{\"event\": \"RESUME\"}\r\n");
	for (int i = 0; i < 100 && r.ctx->vm_state != QVMI_VM_RUNNING; i++)
		CHECK(qvmi__qmp_poll(r.q, 20) >= 0);
	CHECK_INT(r.ctx->vm_state, ==, QVMI_VM_RUNNING);
	fakeqmp_inject(r.f, "{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": "
			    "false, \"reason\": \"host-qmp-quit\"}}\r\n");
	for (int i = 0; i < 100 && r.ctx->vm_state != QVMI_VM_SHUTDOWN; i++)
		CHECK(qvmi__qmp_poll(r.q, 20) >= 0);
	CHECK_INT(r.ctx->vm_state, ==, QVMI_VM_SHUTDOWN);
	rig_down(&r);
}

static int slow_read(struct qvmi_source *s, uint64_t addr, void *buf,
		     size_t len)
{
	memset(buf, 0x5a, len);
	return 0;
}

static const struct qvmi_source_ops slow_ops = { "slow", slow_read };

static void test_qemu_gone(void)
{
	struct rig r;
	enum qvmi_vm_state st;
	struct qvmi_regs_x86 regs;
	struct qvmi_source *slow;
	uint8_t b[16];

	rig_up(&r, 1);
	CHECK_OK(qvmi_source_create(r.ctx, &slow_ops, NULL, QVMI_SOURCE_SLOW,
				    &slow));
	CHECK_OK(qvmi_map_add(r.ctx, slow, 0, 0x1000, 0));
	CHECK_INT(qvmi__qmp_execute(r.q, "quit", NULL, NULL), ==, -EPIPE);
	qvmi__clear_err(r.ctx);
	/* a slow read drains events first: it learns QEMU is gone, but its
	 * own success leaves no error behind */
	CHECK_OK(qvmi_read_pa(r.ctx, 0x10, b, sizeof(b)));
	CHECK_INT(b[15], ==, 0x5a);
	CHECK_INT(qvmi_errcode(r.ctx), ==, 0);
	CHECK_STR(qvmi_errmsg(r.ctx), "");
	CHECK_INT(r.ctx->vm_state, ==, QVMI_VM_SHUTDOWN);
	CHECK_OK(qvmi_vm_state(r.ctx, &st));
	CHECK_INT(st, ==, QVMI_VM_SHUTDOWN);
	CHECK_INT(qvmi_vm_pause(r.ctx), ==, -EPIPE);
	CHECK_INT(qvmi_get_regs(r.ctx, 0, &regs), ==, -EPIPE);
	rig_down(&r);
}

static void test_regs(void)
{
	struct qvmi_regs_x86 regs;
	struct rig r;

	rig_up(&r, 1);
	CHECK_OK(qvmi_get_regs(r.ctx, 1, &regs));
	CHECK_U64(regs.rip, ==, 0xffffffff8b5f77a3);
	CHECK_U64(regs.gs_base, ==, 0xffff8bc55f500000);
	CHECK_U64(regs.cr3, ==, 0x18210000);
	CHECK(regs.valid & QVMI_REGS_CR);
	CHECK_OK(qvmi_get_regs(r.ctx, 0, &regs));
	CHECK_U64(regs.rip, ==, 0xffffffff8ac3fc9b);
	CHECK_INT(get(&r.vm->regs_n_calls), ==, 2);
	CHECK_INT(get(&r.vm->regs_a_calls), ==, 0);
	CHECK_INT(qvmi_get_regs(r.ctx, 5, &regs), ==, -ENOENT);
	CHECK(strstr(qvmi_errmsg(r.ctx), "no vCPU 5"));
	rig_down(&r);

	/* a QEMU without "info registers N": fall back to -a, once */
	rig_up(&r, 1);
	r.vm->old_qemu = 1;
	CHECK_OK(qvmi_get_regs(r.ctx, 1, &regs));
	CHECK_U64(regs.rip, ==, 0xffffffff8b5f77a3);
	CHECK_OK(qvmi_get_regs(r.ctx, 0, &regs));
	CHECK_U64(regs.cr3, ==, 0x18210000);
	CHECK_INT(get(&r.vm->regs_n_calls), ==, 1);
	CHECK_INT(get(&r.vm->regs_a_calls), ==, 2);
	CHECK_INT(qvmi_get_regs(r.ctx, 2, &regs), ==, -ENOENT);
	rig_down(&r);
}

/* Wait until an injected event is in the socket, without reading it. */
static void wait_readable(struct qvmi_qmp *q)
{
	struct pollfd p = { .fd = qvmi__qmp_fd(q), .events = POLLIN };

	CHECK_INT(poll(&p, 1, 2000), ==, 1);
}

static struct qvmi_source *map_xp(struct rig *r)
{
	struct qvmi_source *src;

	CHECK_OK(qvmi__source_xp_create(r->ctx, r->q, &src));
	CHECK_STR(qvmi_source_name(src), "xp");
	CHECK_OK(qvmi_map_add(r->ctx, src, RAM_BASE, RAM_SIZE, RAM_BASE));
	return src;
}

static void test_xp_read(void)
{
	static uint8_t buf[RAM_SIZE];
	struct rig r;

	rig_up(&r, 1);
	map_xp(&r);
	/* 20 KiB: a 16 KiB chunk and a 4 KiB one */
	CHECK_OK(qvmi_read_pa(r.ctx, RAM_BASE + 0x1003, buf, 20 * 1024));
	CHECK(!memcmp(buf, r.vm->ram + 0x1003, 20 * 1024));
	CHECK_INT(get(&r.vm->xp_calls), ==, 2);
	CHECK_OK(qvmi_read_pa(r.ctx, RAM_BASE, buf, 1));
	CHECK_INT(buf[0], ==, r.vm->ram[0]);
	/* read-only */
	CHECK_INT(qvmi_write_pa(r.ctx, RAM_BASE, buf, 1), ==, -EOPNOTSUPP);
	rig_down(&r);
}

static void test_xp_unmapped(void)
{
	struct qvmi_source *src;
	uint8_t buf[64];
	struct rig r;

	rig_up(&r, 1);
	src = map_xp(&r);
	/* map xp further than the fake's RAM: QEMU says "Cannot access" */
	CHECK_OK(qvmi_map_add(r.ctx, src, RAM_BASE + RAM_SIZE, 0x1000,
			      RAM_BASE + RAM_SIZE));
	CHECK_INT(qvmi_read_pa(r.ctx, RAM_BASE + RAM_SIZE - 16, buf, 64), ==,
		  -EFAULT);
	CHECK_U64(qvmi_fault_addr(r.ctx), ==, RAM_BASE + RAM_SIZE);
	CHECK(strstr(qvmi_errmsg(r.ctx), "xp"));
	rig_down(&r);
}

static void test_xp_cache_while_paused(void)
{
	struct qvmi_cache_stats st;
	uint8_t a[4096], b[4096];
	uint64_t misses;
	struct rig r;
	int calls;

	rig_up(&r, 1);
	map_xp(&r);
	/* running: never served from the cache */
	CHECK_OK(qvmi_read_pa(r.ctx, RAM_BASE + 0x2000, a, 4096));
	CHECK_OK(qvmi_read_pa(r.ctx, RAM_BASE + 0x2000, b, 4096));
	CHECK_INT(get(&r.vm->xp_calls), ==, 2);
	qvmi_cache_stats(r.ctx, &st);
	CHECK_U64(st.hits, ==, 0);

	/* paused: one xp per page, then hits */
	CHECK_OK(qvmi_vm_pause(r.ctx));
	CHECK_OK(qvmi_read_pa(r.ctx, RAM_BASE + 0x2000, a, 4096));
	CHECK_OK(qvmi_read_pa(r.ctx, RAM_BASE + 0x2100, b, 16));
	CHECK_OK(qvmi_read_pa(r.ctx, RAM_BASE + 0x2000, b, 4096));
	CHECK_INT(get(&r.vm->xp_calls), ==, 3);
	CHECK(!memcmp(a, r.vm->ram + 0x2000, 4096));
	CHECK(!memcmp(b, a, 4096));
	qvmi_cache_stats(r.ctx, &st);
	CHECK_U64(st.misses, ==, 1);
	CHECK_U64(st.hits, ==, 2);

	/* another client resumes and the guest writes: the RESUME event,
	 * drained before the next read, must flush the cache */
	r.vm->ram[0x2000] ^= 0xff;
	__atomic_store_n(&r.vm->running, 1, __ATOMIC_SEQ_CST);
	fakeqmp_inject(r.f, "{\"event\": \"RESUME\"}\r\n");
	wait_readable(r.q);
	/* the very next read sees the event and reads through */
	CHECK_OK(qvmi_read_pa(r.ctx, RAM_BASE + 0x2000, b, 1));
	CHECK_INT(r.ctx->vm_state, ==, QVMI_VM_RUNNING);
	CHECK_INT(b[0], ==, r.vm->ram[0x2000]);
	CHECK_INT(b[0], !=, a[0]);
	qvmi_cache_stats(r.ctx, &st);
	CHECK_U64(st.flushes, >=, 1);

	/* paused again, then a RESET event: the cache is flushed though the
	 * VM stays paused */
	CHECK_OK(qvmi_vm_pause(r.ctx));
	CHECK_OK(qvmi_read_pa(r.ctx, RAM_BASE + 0x3000, a, 8));
	CHECK_OK(qvmi_read_pa(r.ctx, RAM_BASE + 0x3000, a, 8));
	qvmi_cache_stats(r.ctx, &st);
	misses = st.misses;
	calls = get(&r.vm->xp_calls);
	fakeqmp_inject(r.f, "{\"event\": \"RESET\", \"data\": "
			    "{\"guest\": false}}\r\n");
	wait_readable(r.q);
	CHECK_OK(qvmi_read_pa(r.ctx, RAM_BASE + 0x3000, a, 8));
	CHECK_INT(get(&r.vm->xp_calls), ==, calls + 1);
	qvmi_cache_stats(r.ctx, &st);
	CHECK_U64(st.misses, ==, misses + 1);
	CHECK_INT(r.ctx->vm_state, ==, QVMI_VM_PAUSED);
	rig_down(&r);
}

static const struct qvmi_test ctlqmp_tests[] = {
	{ "state_pause_resume", test_state_pause_resume },
	{ "events_from_elsewhere", test_events_from_elsewhere },
	{ "qemu_gone", test_qemu_gone },
	{ "regs", test_regs },
	{ "xp_read", test_xp_read },
	{ "xp_unmapped", test_xp_unmapped },
	{ "xp_cache_while_paused", test_xp_cache_while_paused },
};
QVMI_SUITE(ctlqmp, ctlqmp_tests);
