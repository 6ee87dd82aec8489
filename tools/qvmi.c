// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * qvmi: one binary, a table of subcommands (kvmtool's kvm-cmd.c).
 *
 *   qvmi [--qmp PATH | --dump FILE | --gdb PATH | --pmem PATH] [--json]
 *        COMMAND [ARGS]
 */
#include <ctype.h>
#include <malloc.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli.h"

#define TARGET_HELP                                                               \
	"target (one of; may also come before COMMAND):\n"                        \
	"  --qmp PATH       live VM by its QMP socket (fastest source found)\n"   \
	"  --domain NAME    running libvirt domain (QMP through libvirt)\n"       \
	"  --connect URI    libvirt URI for --domain (default: libvirt's)\n"      \
	"  --gdb PATH       QEMU gdbstub socket: registers, breakpoints, step;\n" \
	"                   with --qmp, QMP gives memory and the gdbstub\n"       \
	"                   registers and control\n"                              \
	"  --dump FILE      a dump: ELF, kdump (flattened too), LiME or raw\n"    \
	"  --pmem PATH      pmemaccess socket (qvmid, or a patched QEMU)\n"       \
	"  --session PATH   qvmid introspection session (needs --key FILE)\n"     \
	"  --session-listen ADDR  wait up to 30 s for a qvmid --session-\n"       \
	"                   connect to dial in (PATH, tcp:A.B.C.D:PORT,\n"        \
	"                   vsock:any:PORT; needs --key FILE)\n"                  \
	"  --key-dir DIR    --session-listen on tcp: or vsock: with one key\n"    \
	"                   per VM: DIR/<uuid, 32 lowercase hex>.key (DIR\n"      \
	"                   0700, keys 0600); instead of --key\n"                 \
	"  --raw-map MAP    raw dump layout GPA:SIZE[@OFF],...\n"                 \
	"  --source LIST    allowed live sources: shm,procmem,xp\n"               \
	"  --timeout MS     QMP timeout (default 5000)\n"                         \
	"  --btf FILE       Linux: BTF of the guest kernel (pahole output)\n"     \
	"  --isf FILE       Linux: Volatility ISF JSON (dwarf2json output)\n"     \
	"  --system-map FILE  Linux: System.map of the guest kernel (data\n"      \
	"                   symbols of kernels without KALLSYMS_ALL)\n"           \
	"  --cache-dir DIR  layout and kernel profile caches (default\n"          \
	"                   $XDG_CACHE_HOME/qvmi or ~/.cache/qvmi)\n"             \
	"  --json           machine-readable output\n"

const struct cli_cmd cli_cmds[] = {
	{ "info", cmd_info, "VM, sources in use, memory map",
	  "info\n\nShow the VM's identity, the memory sources serving each "
	  "guest-physical\nrange, the RAM map and vCPU count.\n" },
	{ "read", cmd_read, "hexdump guest-physical memory",
	  "read ADDR [--len N] [--raw]\n"
	  "       read --va ADDR [--dtb CR3 | --vcpu N | --pid PID] [--len N] "
	  "[--raw]\n\nHexdump N bytes (default 256) of "
	  "guest-physical memory at ADDR,\nwith an ASCII column.  --raw writes "
	  "the bytes to stdout.\nWith --va, ADDR is guest-virtual, in the "
	  "address space of page table\nCR3, of vCPU N's CR3 (default vCPU 0) "
	  "or of Linux process PID.\n" },
	{ "write", cmd_write, "write guest-physical memory",
	  "write ADDR (HEXBYTES | --string STR | --file FILE)\n\nWrite bytes "
	  "to guest-physical memory at ADDR.  HEXBYTES like\n\"de ad be ef\" "
	  "or \"deadbeef\".\n" },
	{ "find", cmd_find, "search guest RAM for a string or bytes",
	  "find PATTERN [--hex] [--max N]\n\nSearch all guest RAM for PATTERN "
	  "(a string, or hex bytes with --hex)\nand print the guest-physical "
	  "address of each match (at most N, default\n100).  What the RAM "
	  "backing holds no data for (holes of a sparse RAM\nfile, anonymous "
	  "memory never touched) reads as zeros and is not read:\nthe cost "
	  "follows the guest's data, not its RAM size.  Shows progress on\n"
	  "a terminal.\n" },
	{ "dump", cmd_dump, "write guest RAM to an ELF core or raw file",
	  "dump FILE [--format elf|kdump|lime|raw] [--compress "
	  "zlib|lzo|snappy|zstd]\n     [--dump-level 1|17] [--pause] "
	  "[--no-kernel]\n\nWrite "
	  "all guest RAM and ROM to FILE: an ELF core (the default),\n"
	  "kdump-compressed (zero pages left out; --dump-level 17 also leaves\n"
	  "out the guest's free pages, as makedumpfile -d 17, and pauses the\n"
	  "VM), LiME (Volatility) or a raw\n"
	  "image (file offset = GPA).  For a Linux guest the ELF core is a\n"
	  "kernel dump that crash, drgn, makedumpfile and gdb open: VMCOREINFO "
	  "from\nguest memory, the kernel's virtual layout; --no-kernel writes "
	  "QEMU's\nphysical-only layout.  --pause holds the VM still for a "
	  "consistent\nimage.  Shows progress (rate, ETA) on a terminal.\n" },
	{ "pause", cmd_pause, "pause the VM", "pause\n" },
	{ "resume", cmd_resume, "resume the VM", "resume\n" },
	{ "status", cmd_status, "run state of the VM", "status\n" },
	{ "regs", cmd_regs, "vCPU registers",
	  "regs [--vcpu N]\n\nPrint the registers of vCPU N (default: all).\n" },
	{ "translate", cmd_translate, "guest-virtual to guest-physical",
	  "translate VA [--dtb CR3 | --vcpu N]\n\nTranslate VA through the "
	  "page tables at CR3 (default: vCPU 0's, the\nkernel's), showing "
	  "the page size and the w/u/x bits.\n" },
	{ "pages", cmd_pages, "mapped ranges of an address space",
	  "pages [--dtb CR3 | --vcpu N]\n\nList every mapped range: VA range, "
	  "PA, page size (huge pages kept\nvisible) and flags (w: writable, "
	  "u/k: user or kernel, x: executable).\nNeighbours merge only when "
	  "both VA and PA are contiguous and size and\nflags are equal.\n" },
	{ "ps", cmd_ps, "Linux: processes",
	  "ps [--threads] [--long]\n\nList the guest kernel's tasks from init_task (pid "
	  "0, the idle task,\nfirst): pid, thread group, parent, uid, state as ps "
	  "shows it, command\n(kernel threads in brackets) and start time in "
	  "seconds since boot.\n--threads lists every thread, not only "
	  "thread-group leaders.\n--long adds each task's task_struct address "
	  "and the physical address\nof its page tables (the dtb its user "
	  "memory translates through).\n" },
	{ "pstree", cmd_pstree, "Linux: process tree",
	  "pstree\n\nThe guest's processes as a tree by parent pid.\n" },
	{ "lsmod", cmd_lsmod, "Linux: loaded modules",
	  "lsmod\n\nThe guest's loaded modules: name, size (as /proc/modules), "
	  "state and\nbase address of the core text.\n" },
	{ "maps", cmd_maps, "Linux: memory maps of a process",
	  "maps PID\n\nThe VMAs of process PID like /proc/PID/maps: range, "
	  "permissions,\nfile offset and path ([heap], [stack], [vdso], ...).\n" },
	{ "cmdline", cmd_cmdline, "Linux: arguments of a process",
	  "cmdline PID\n\nThe argument vector of process PID, read from its "
	  "memory.\n" },
	{ "env", cmd_env, "Linux: environment of a process",
	  "env PID\n\nThe environment of process PID, one variable per "
	  "line.\n" },
	{ "dmesg", cmd_dmesg, "Linux: kernel log",
	  "dmesg\n\nThe kernel's log buffer, oldest record first.\n" },
	{ "sym", cmd_sym, "Linux: symbol address or name",
	  "sym NAME|ADDR\n\nThe address of kernel symbol NAME, or the symbol "
	  "at or below ADDR\nas name+offset.\n" },
	{ "watch", cmd_watch, "breakpoint hits with the task that hit",
	  "watch --break SYMBOL[+OFF]|ADDR [--count N] [--seconds S] [--hw|--sw]\n"
	  "      [--vcpu N] [--stats]\n\n"
	  "Needs --gdb or --session.  Insert a breakpoint (hardware by default)\n"
	  "and print one line per hit: vCPU, pid, tgid and comm of the current\n"
	  "task, RIP and symbol (a JSON object per line with --json); with\n"
	  "--vcpu, only vCPU N's hits.  Stops after N hits, S seconds (exit\n"
	  "status 3 if fewer than N hits) or Ctrl-C; then removes the\n"
	  "breakpoint and leaves the VM running if it was.  Through a qvmid\n"
	  "session, an UNHOOK from qvmid (a management stop, reset, quit...)\n"
	  "also ends the watch: the breakpoint is removed and acknowledged at\n"
	  "once (exit status 3).  So does a guest reset (EV_RESET): after a\n"
	  "reboot KASLR moves the kernel and the address is stale.  --stats\n"
	  "prints the time from a hit to the VM\n"
	  "running again (p50/p99) to stderr.\n" },

	{ "step", cmd_step, "single-step a vCPU",
	  "step [--vcpu N] [--count N]\n\nNeeds --gdb.  Print vCPU N's RIP "
	  "(default vCPU 0) and symbol, then\nsingle-step it N times (default "
	  "1), printing each new RIP.  The other\nvCPUs stay stopped.  A "
	  "running VM is paused for the steps and resumed.\n" },
	{ NULL, NULL, NULL, NULL },
};

const struct cli_cmd *cli_find_cmd(const char *name)
{
	const struct cli_cmd *c;

	for (c = cli_cmds; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

static void usage(FILE *f)
{
	const struct cli_cmd *c;

	fprintf(f, "usage: qvmi [TARGET] COMMAND [ARGS]\n\ncommands:\n");
	for (c = cli_cmds; c->name; c++)
		fprintf(f, "  %-10s %s\n", c->name, c->summary);
	fprintf(f, "\n" TARGET_HELP
		   "\n'qvmi COMMAND --help' describes a command.\n");
}

static const struct option global_opts[] = {
	{ "qmp", required_argument, NULL, OPT_QMP },
	{ "dump", required_argument, NULL, OPT_DUMP },
	{ "gdb", required_argument, NULL, OPT_GDB },
	{ "pmem", required_argument, NULL, OPT_PMEM },
	{ "source", required_argument, NULL, OPT_SOURCE },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "raw-map", required_argument, NULL, OPT_RAW_MAP },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "session", required_argument, NULL, OPT_SESSION },
	{ "session-listen", required_argument, NULL, OPT_SESSION_LISTEN },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "key-dir", required_argument, NULL, OPT_KEY_DIR },
	{ "btf", required_argument, NULL, OPT_BTF },
	{ "isf", required_argument, NULL, OPT_ISF },
	{ "system-map", required_argument, NULL, OPT_SYSTEM_MAP },
	{ "cache-dir", required_argument, NULL, OPT_CACHE_DIR },
	{ "domain", required_argument, NULL, OPT_DOMAIN },
	{ "connect", required_argument, NULL, OPT_CONNECT },
	{ "verbose", no_argument, NULL, 'v' },
};

static int parse_sources(const char *s, unsigned int *ret)
{
	char buf[128], *tok, *save = NULL;
	unsigned int m = 0;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "shm"))
			m |= QVMI_SRC_SHM;
		else if (!strcmp(tok, "procmem"))
			m |= QVMI_SRC_PROCMEM;
		else if (!strcmp(tok, "xp"))
			m |= QVMI_SRC_XP;
		else
			return -EINVAL;
	}
	*ret = m;
	return m ? 0 : -EINVAL;
}

int cli_global_opt(struct cli *cli, int opt, const char *arg)
{
	uint64_t v;

	switch (opt) {
	case OPT_QMP:
		cli->qmp = arg;
		return 1;
	case OPT_DUMP:
		cli->dump = arg;
		return 1;
	case OPT_GDB:
		cli->gdb = arg;
		return 1;
	case OPT_PMEM:
		cli->pmem = arg;
		return 1;
	case OPT_RAW_MAP:
		cli->raw_map = arg;
		return 1;
	case OPT_SESSION:
		cli->session = arg;
		return 1;
	case OPT_SESSION_LISTEN:
		cli->session_listen = arg;
		return 1;
	case OPT_KEY:
		cli->key = arg;
		return 1;
	case OPT_KEY_DIR:
		cli->key_dir = arg;
		return 1;
	case OPT_BTF:
		cli->btf = arg;
		return 1;
	case OPT_ISF:
		cli->isf = arg;
		return 1;
	case OPT_SYSTEM_MAP:
		cli->system_map = arg;
		return 1;
	case OPT_CACHE_DIR:
		cli->cache_dir = arg;
		return 1;
	case OPT_DOMAIN:
		cli->domain = arg;
		return 1;
	case OPT_CONNECT:
		cli->connect = arg;
		return 1;
	case OPT_JSON:
		cli->json = true;
		return 1;
	case 'v':
		cli->verbose++;
		return 1;
	case OPT_SOURCE:
		if (parse_sources(arg, &cli->sources)) {
			fprintf(stderr,
				"qvmi: --source takes shm,procmem,xp\n");
			return -1;
		}
		return 1;
	case OPT_TIMEOUT:
		if (cli_parse_u64(arg, &v) || v == 0 || v > 3600000) {
			fprintf(stderr, "qvmi: bad --timeout '%s'\n", arg);
			return -1;
		}
		cli->timeout_ms = (int)v;
		return 1;
	}
	return 0;
}

int cli_parse(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv,
	      const struct option *cmd_opts, cli_opt_fn fn, void *data)
{
	struct option opts[64];
	size_t n = 0, i;
	int c, r;

	for (i = 0; i < QVMI_ARRAY_SIZE_(global_opts); i++)
		opts[n++] = global_opts[i];
	for (i = 0; cmd_opts && cmd_opts[i].name && n < 63; i++)
		opts[n++] = cmd_opts[i];
	memset(&opts[n], 0, sizeof(opts[n]));
	optind = 0; /* glibc: 0 re-initialises getopt after main's scan */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		if (c == OPT_HELP) {
			printf("usage: qvmi %s\n%s", cmd->usage, TARGET_HELP);
			return CLI_EXIT_HELP;
		}
		if (c == '?' || c == ':')
			return cli_usage_error(cmd, "bad option '%s'",
					       argv[optind - 1]);
		r = cli_global_opt(cli, c, optarg);
		if (r < 0)
			return -1;
		if (r)
			continue;
		if (!fn || fn(cli, c, optarg, data) < 0)
			return -1;
	}
	return optind;
}

int cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("qvmi: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: qvmi %s", cmd->usage);
	return -1;
}

static void log_stderr(enum qvmi_log_level level, const char *msg, void *arg)
{
	static const char *const names[] = { "error", "warning", "info",
					     "debug" };

	fprintf(stderr, "qvmi: %s: %s\n", names[level & 3], msg);
}

/*
 * The gdbstub after QMP: QMP gives the memory sources and the RAM map, the
 * gdbstub registers and control.  Connecting pauses the VM (QEMU 7.2), so
 * continue it at once if QMP saw it running: every command then finds the
 * VM as it was, and qvmi_ctx_destroy() leaves it that way.
 */
static int attach_gdb(struct cli *cli)
{
	enum qvmi_vm_state st = QVMI_VM_UNKNOWN;
	int err = 0;

	/* QMP held by another client (-EBUSY, told within a second): the
	 * gdbstub does without it, as with --gdb alone (running). */
	if ((cli->qmp || cli->domain) && (err = qvmi_vm_state(cli->ctx, &st)))
		st = err == -EBUSY ? QVMI_VM_RUNNING : QVMI_VM_UNKNOWN;
	if (err == -EBUSY)
		fprintf(stderr, "qvmi: %s: %s\n",
			cli->qmp ? cli->qmp : cli->domain,
			qvmi_errmsg(cli->ctx));
	QVMI_OPTS(qvmi_gdb_opts, gopts, .timeout_ms = cli->timeout_ms,
		  .resume = st == QVMI_VM_RUNNING);

	err = qvmi_attach_gdb(cli->ctx, cli->gdb, &gopts);
	return err ? cli_fail(cli, cli->gdb, err) : 0;
}

/*
 * --session-listen: the first VM that dials in and proves the key.  Peers
 * that fail the handshake are skipped (logged) until the 30 s are up; the
 * listener goes once a VM is attached (qvmid's later redials then fail
 * until another tool listens).
 */
static int attach_listen(struct cli *cli)
{
	QVMI_OPTS(qvmi_session_listen_opts, lopts, .key_path = cli->key,
		  .key_dir = cli->key_dir, .timeout_ms = cli->timeout_ms,
		  .err_ctx = cli->ctx);
	struct qvmi_session_listener *l = NULL;
	struct timespec t0, t1;
	int err, left = 30000;

	if (!cli->key == !cli->key_dir) {
		return cli_error(cli, NULL, -EINVAL,
				 "--session-listen needs --key FILE or "
				 "--key-dir DIR (not both)");
	}
	err = qvmi_session_listener_create(cli->session_listen, &lopts, &l);
	if (err)
		return cli_fail(cli, NULL, err);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* Bounded: every turn spends part of the 30 s. */
	for (;;) {
		err = qvmi_session_accept(l, cli->ctx, left);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		left = 30000 - (int)((t1.tv_sec - t0.tv_sec) * 1000 +
				     (t1.tv_nsec - t0.tv_nsec) / 1000000);
		/* Skip a peer that failed the handshake; stop on the rest
		 * (no VM in time, the listener itself failing). */
		if (left <= 0 ||
		    (err != -EACCES && err != -EPROTO && err != -EPIPE &&
		     err != -EBUSY && err != -ECONNRESET))
			break;
		fprintf(stderr, "qvmi: %s: %s\n", cli->session_listen,
			qvmi_errmsg(cli->ctx));
	}
	qvmi_session_listener_destroy(l);
	return err ? cli_fail(cli, cli->session_listen, err) : 0;
}

int cli_attach(struct cli *cli)
{
	int n = !!cli->qmp + !!cli->dump + !!cli->pmem + !!cli->session +
		!!cli->session_listen + !!cli->domain,
	    err;

	if (n == 0 && !cli->gdb) {
		return cli_error(cli, NULL, -EINVAL,
				 "no target: give --qmp PATH, --domain NAME, "
				 "--gdb PATH or --dump FILE (see qvmi --help)");
	}
	if (cli->key_dir && !cli->session_listen) {
		return cli_error(cli, NULL, -EINVAL,
				 "--key-dir is for --session-listen only");
	}
	if (n > 1) {
		return cli_error(cli, NULL, -EINVAL,
				 "give only one of --qmp, --domain, --dump, "
				 "--pmem, --session, --session-listen");
	}
	if (cli->gdb &&
	    (cli->dump || cli->pmem || cli->session || cli->session_listen)) {
		return cli_error(cli, NULL, -EINVAL,
				 "--gdb goes with --qmp, --domain or alone");
	}
	if (cli->connect && !cli->domain)
		return cli_error(cli, NULL, -EINVAL,
				 "--connect goes with --domain");
	qvmi_set_log(cli->ctx, log_stderr, NULL,
		     cli->verbose ? QVMI_LOG_DEBUG : QVMI_LOG_WARN);
	if (cli->dump) {
		QVMI_OPTS(qvmi_dump_opts, dopts, .raw_map = cli->raw_map);

		err = qvmi_attach_dump(cli->ctx, cli->dump, &dopts);
		return err ? cli_fail(cli, cli->dump, err) : 0;
	}
	if (cli->qmp) {
		QVMI_OPTS(qvmi_attach_opts, aopts, .sources = cli->sources,
			  .timeout_ms = cli->timeout_ms,
			  .cache_dir = cli->cache_dir);

		err = qvmi_attach_qmp(cli->ctx, cli->qmp, &aopts);
		if (err)
			return cli_fail(cli, cli->qmp, err);
	}
	if (cli->domain && (err = cli_attach_domain(cli)))
		return err;
	if (cli->gdb)
		return attach_gdb(cli);
	if (cli->qmp || cli->domain)
		return 0;
	if (cli->session) {
		QVMI_OPTS(qvmi_session_opts, sopts, .key_path = cli->key,
			  .timeout_ms = cli->timeout_ms);

		if (!cli->key) {
			return cli_error(cli, NULL, -EINVAL,
					 "--session needs --key FILE");
		}
		err = qvmi_session_open(cli->ctx, cli->session, &sopts);
		return err ? cli_fail(cli, cli->session, err) : 0;
	}
	if (cli->session_listen)
		return attach_listen(cli);
	{
		QVMI_OPTS(qvmi_pmem_opts, popts, .timeout_ms = cli->timeout_ms);

		err = qvmi_attach_pmem(cli->ctx, cli->pmem, &popts);
		return err ? cli_fail(cli, cli->pmem, err) : 0;
	}
}

int cli_parse_u64(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return -EINVAL;
	*ret = v;
	return 0;
}

int cli_parse_size(const char *s, uint64_t *ret)
{
	char buf[64], *end;
	size_t len = s ? strlen(s) : 0;
	unsigned int shift = 0;
	uint64_t v;

	if (!len || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len + 1);
	end = buf + len - 1;
	switch (toupper((unsigned char)*end)) {
	case 'K':
		shift = 10;
		break;
	case 'M':
		shift = 20;
		break;
	case 'G':
		shift = 30;
		break;
	case 'T':
		shift = 40;
		break;
	}
	if (shift && !(buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X')))
		*end = '\0';
	else
		shift = 0;
	if (cli_parse_u64(buf, &v))
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*ret = v << shift;
	return 0;
}

void cli_hexdump(FILE *f, uint64_t addr, const uint8_t *buf, size_t len)
{
	size_t i, j;

	for (i = 0; i < len; i += 16) {
		fprintf(f, "%016llx ", (unsigned long long)(addr + i));
		for (j = 0; j < 16; j++) {
			if (j == 8)
				fputc(' ', f);
			if (i + j < len)
				fprintf(f, " %02x", buf[i + j]);
			else
				fputs("   ", f);
		}
		fputs("  |", f);
		for (j = 0; j < 16 && i + j < len; j++)
			fputc(isprint(buf[i + j]) ? buf[i + j] : '.', f);
		fputs("|\n", f);
	}
}

/*
 * Map the heap's first arena in one go.  A first touch of a page faults,
 * and in this nested VM a fault costs ~11 us while MADV_POPULATE_WRITE
 * (Linux 5.14) maps a page for ~0.5 us: a cached `qvmi ps` is ~0.15 ms
 * faster (BENCHMARKS.md).  The same for the stack or for the program's
 * text measured no gain (text faults map 16 pages at a time).  Best
 * effort: an older kernel says EINVAL.
 */
static void cli_prefault(void)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	/* volatile: a malloc/free pair is otherwise elided by the compiler */
	void *volatile first = malloc(1);
	uintptr_t hi = (uintptr_t)sbrk(0), lo;

	free(first);
	/* The main arena is [brk - arena, brk): one thread, no other arena
	 * yet, and 0 (nothing to do) under ASan's allocator. */
	lo = (hi - mallinfo2().arena + page - 1) & ~(page - 1);
	if (hi > lo)
		madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
}

int main(int argc, char **argv)
{
	struct cli cli = { 0 };
	const struct cli_cmd *cmd;
	int c, r, i;

	cli_prefault();
	opterr = 0;
	/* Global options before the command. */
	while ((c = getopt_long(argc, argv, "+vh", global_opts, NULL)) != -1) {
		if (c == OPT_HELP || c == 'h') {
			usage(stdout);
			return 0;
		}
		if (c == '?' || c == ':') {
			fprintf(stderr, "qvmi: bad option '%s'\n",
				argv[optind - 1]);
			usage(stderr);
			return 2;
		}
		if (cli_global_opt(&cli, c, optarg) < 0)
			return 2;
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = cli_find_cmd(argv[optind]);
	r = cli_domain_reexec(argc, argv, cmd ? cmd->name : NULL);
	if (r > 0)
		return r;
	if (!cmd) {
		fprintf(stderr, "qvmi: unknown command '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	for (i = optind + 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: qvmi %s\n%s", cmd->usage, TARGET_HELP);
			return 0;
		}
	if (qvmi_ctx_create(&cli.ctx)) {
		fprintf(stderr, "qvmi: out of memory\n");
		return 1;
	}
	qvmi_set_log(cli.ctx, log_stderr, NULL,
		     cli.verbose ? QVMI_LOG_DEBUG : QVMI_LOG_WARN);
	r = cmd->fn(&cli, argc - optind, argv + optind);
	qvmi_ctx_destroy(cli.ctx);
	return r;
}
