/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The demo guest for integration tests: where it is (QVMI_GUEST_DIR, set by
 * tests/integration/run) and what it says about itself.  scripts/demo-guest
 * writes DIR/guest.env (key=value lines); the guest's /init prints
 * "QVMI-GT <kind> ..." lines to the serial log, ending with "QVMI-GT ready"
 * (see guest/init).  Everything here is parsed once, on first use, with
 * bounded, defensive parsing: a malformed line is counted and ignored.
 *
 * All returned pointers belong to this module and stay valid until
 * guest_reset() (or exit).
 */
#ifndef QVMI_TEST_GUEST_H
#define QVMI_TEST_GUEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum {
	GUEST_PATH_MAX = 256,
	GUEST_COMM_MAX = 64,
	GUEST_MARK_MAX = 128,
	GUEST_LINE_MAX = 4096,
};

struct qvmi_guest {
	const char *dir;
	const char *qmp; /* QMP unix socket */
	const char *gdb; /* gdbstub unix socket */
	const char *serial; /* serial console log */
	const char *shm; /* RAM file (memory-backend-file) or NULL */
	const char *backend; /* "file", "memfd" or "none" */
	const char *machine; /* "pc" or "q35" */
	const char *append; /* extra kernel command line, may be "" */
	uint64_t mem_bytes;
	pid_t pid; /* QEMU */
};

struct guest_ps {
	int pid, ppid;
	char state;
	char comm[GUEST_COMM_MAX];
};

struct guest_thread {
	int tid, tgid;
	char comm[GUEST_COMM_MAX];
};

struct guest_marker {
	int pid;
	char comm[GUEST_COMM_MAX];
	uint64_t heap_va, heap_pa, stack_va, stack_pa;
	char heap[GUEST_MARK_MAX], stack[GUEST_MARK_MAX];
};

struct guest_map {
	int pid;
	uint64_t start, end, offset;
	char perms[5];
	char path[GUEST_PATH_MAX]; /* "" for anonymous */
};

struct guest_module {
	char name[GUEST_COMM_MAX];
	uint64_t size, addr;
	char state[16]; /* "Live", "Loading", "Unloading" */
};

struct guest_iomem {
	uint64_t start, end; /* inclusive, as /proc/iomem prints it */
	int depth; /* nesting level: leading spaces / 2 */
	char name[GUEST_COMM_MAX];
};

/* NULL unless QVMI_GUEST_DIR names a started guest whose serial log holds
 * the ready line; tests then SKIP. */
const struct qvmi_guest *guest_get(void);

/* Parse a serial log directly (unit tests, tools); replaces the state
 * guest_get() would load.  0 or negative errno. */
int guest_load_log(const char *path);
/* Forget everything parsed (guest_get() reloads on next use). */
void guest_reset(void);

/* 0 and *ret on success, -ENOENT if the guest did not list that symbol. */
int guest_ksym(const char *name, uint64_t *ret);
void guest_ps(const struct guest_ps **ret, size_t *n);
const struct guest_ps *guest_ps_find(int pid);
/* First process whose comm is exactly comm, or -ENOENT. */
int guest_pid_of(const char *comm);
void guest_markers(const struct guest_marker **ret, size_t *n);
/* Threads of the markers and the sleeper (/proc/PID/task), leaders too. */
void guest_threads(const struct guest_thread **ret, size_t *n);
/* Entries of /proc/<pid>/maps (only printed for the guest's own helpers). */
void guest_maps(int pid, const struct guest_map **ret, size_t *n);
const char *guest_cmdline(int pid); /* args joined by spaces, or NULL */
void guest_modules(const struct guest_module **ret, size_t *n);
/* Raw kernel log lines ("<6>[    0.000000] Linux version ...", busybox
 * dmesg -r): the first ones (tail 0) or the last ones (tail 1) at the time
 * /init printed them. */
void guest_dmesg(int tail, char *const **ret, size_t *n);
void guest_iomem(const struct guest_iomem **ret, size_t *n);
const char *guest_banner(void); /* first line of /proc/version, or NULL */
const char *guest_uname(void); /* uname -r, or NULL */
const char *guest_kcmdline(void); /* /proc/cmdline, or NULL */
/* Size and md5 (hex) of /sys/kernel/btf/vmlinux; -ENOENT if not printed. */
int guest_btf(uint64_t *size, const char **md5);
/* Whether the log held "QVMI-GT ready", and how many QVMI-GT lines were
 * rejected as malformed (should be 0 for a real guest). */
int guest_ready(void);
size_t guest_bad_lines(void);

#endif
