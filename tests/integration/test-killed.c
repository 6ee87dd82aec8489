// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * QEMU killed while we read: every live source must answer with a clear
 * error, never crash or hang, and the VM state must say it is gone.  Uses
 * its own QEMU started with -S (no guest code runs, so it is up in well
 * under a second) with a shared RAM file, not the shared demo guest.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "qvmi.h"

struct vm {
	char dir[128], qmp[160], ram[160];
	pid_t pid;
};

static void vm_start(struct vm *v)
{
	char obj[256], qmp[200];

	snprintf(v->dir, sizeof(v->dir), "/tmp/qvmi-killed-XXXXXX");
	CHECK(mkdtemp(v->dir));
	snprintf(v->qmp, sizeof(v->qmp), "%s/qmp.sock", v->dir);
	snprintf(v->ram, sizeof(v->ram), "/dev/shm/qvmi-killed-%d",
		 (int)getpid());
	snprintf(obj, sizeof(obj),
		 "memory-backend-file,id=ram0,size=64M,mem-path=%s,share=on",
		 v->ram);
	snprintf(qmp, sizeof(qmp), "unix:%s,server=on,wait=off", v->qmp);
	v->pid = fork();
	CHECK(v->pid >= 0);
	if (!v->pid) {
		execlp("qemu-system-x86_64", "qemu-system-x86_64", "-S",
		       "-accel", "tcg", "-m", "64M", "-nodefaults",
		       "-no-user-config", "-display", "none", "-object", obj,
		       "-machine", "pc,memory-backend=ram0", "-qmp", qmp,
		       (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) { /* up to 10 s */
		struct stat st;

		if (!stat(v->qmp, &st))
			return;
		usleep(50000);
	}
	kill(v->pid, SIGKILL);
	CHECK_MSG(0, "QEMU did not create %s", v->qmp);
}

static void vm_reap(struct vm *v)
{
	if (v->pid > 0) {
		kill(v->pid, SIGKILL);
		waitpid(v->pid, NULL, 0);
		v->pid = 0;
	}
	unlink(v->qmp);
	rmdir(v->dir);
	unlink(v->ram);
}

static const char *killed_setup(void)
{
	return system("command -v qemu-system-x86_64 >/dev/null") ?
		       "qemu-system-x86_64 not installed" :
		       NULL;
}

/* Attach with one source, read, kill QEMU, read again: an error, fast. */
static void killed_case(unsigned int src, const char *name, int want)
{
	QVMI_OPTS(qvmi_attach_opts, opts, .sources = src, .timeout_ms = 2000);
	static uint8_t buf[1 << 20];
	struct qvmi_ctx *ctx = NULL;
	enum qvmi_vm_state st;
	struct vm v = { 0 };
	struct timespec t0, t1;
	int err;

	vm_start(&v);
	CHECK_OK(qvmi_ctx_create(&ctx));
	err = qvmi_attach_qmp(ctx, v.qmp, &opts);
	if (err) {
		vm_reap(&v);
		CHECK_MSG(0, "%s: attach: %s", name, qvmi_errmsg(ctx));
	}
	CHECK_OK(qvmi_read_pa(ctx, 0x100000, buf, sizeof(buf)));
	kill(v.pid, SIGKILL);
	waitpid(v.pid, NULL, 0);
	v.pid = 0;
	/* shm checks QEMU's liveness at most once per millisecond */
	usleep(5000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = qvmi_read_pa(ctx, 0x100000, buf, sizeof(buf));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	qvmi_test_note("%s after kill: %d (%s) in %.1f ms", name, err,
		       qvmi_errmsg(ctx),
		       (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
			       (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	CHECK_INT(err, ==, want);
	CHECK(qvmi_errmsg(ctx)[0]);
	CHECK_OK(qvmi_vm_state(ctx, &st));
	CHECK_INT(st, ==, QVMI_VM_SHUTDOWN);
	qvmi_ctx_destroy(ctx);
	vm_reap(&v);
}

static void test_shm(void)
{
	killed_case(QVMI_SRC_SHM, "shm", -EIO);
}

static void test_procmem(void)
{
	killed_case(QVMI_SRC_PROCMEM, "procmem", -EIO);
}

static void test_xp(void)
{
	killed_case(QVMI_SRC_XP, "xp", -EPIPE);
}

static const struct qvmi_test killed_tests[] = {
	{ "shm", test_shm },
	{ "procmem", test_procmem },
	{ "xp", test_xp },
};
QVMI_SUITE_SETUP(qemu_killed, killed_tests, killed_setup);
