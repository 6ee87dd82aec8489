/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared state and helpers of the qvmi CLI (tools/cmd-*.c). */
#ifndef QVMI_TOOLS_CLI_H
#define QVMI_TOOLS_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "qvmi.h"

struct json_object;

#define QVMI_ARRAY_SIZE_(a) (sizeof(a) / sizeof((a)[0]))
/* cli_parse() results below 0 */
enum { CLI_EXIT_HELP = -2 };

struct cli {
	const char *qmp; /* --qmp PATH */
	const char *dump; /* --dump FILE */
	const char *gdb; /* --gdb PATH */
	const char *pmem; /* --pmem PATH */
	const char *session; /* --session PATH (qvmid) */
	/* --session-listen ADDR: wait for qvmid --session-connect */
	const char *session_listen;
	const char *key; /* --key FILE (session secret) */
	const char *key_dir; /* --key-dir DIR (per-VM keys, --session-listen) */
	const char *raw_map; /* --raw-map MAP (raw dumps) */
	const char *btf; /* --btf FILE (Linux types) */
	const char *isf; /* --isf FILE (Linux types and symbols) */
	const char *system_map; /* --system-map FILE (Linux symbols) */
	const char *cache_dir; /* --cache-dir DIR (layout, profiles) */
	const char *domain; /* --domain NAME (libvirt) */
	const char *connect; /* --connect URI (libvirt) */
	unsigned int sources; /* --source shm,procmem,xp */
	int timeout_ms; /* --timeout MS */
	bool json; /* --json */
	int verbose; /* -v */
	struct qvmi_ctx *ctx;
};

/* --domain (tools/cli-domain.c): a static qvmi cannot load libvirt, so
 * it runs its dynamic twin, qvmi-libvirt, with the same arguments, except
 * for commands that may do without libvirt (cmd: the command's name);
 * returns only if it need not (or, with an exit status > 0, if that
 * failed). */
int cli_domain_reexec(int argc, char **argv, const char *cmd);
int cli_attach_domain(struct cli *cli);

struct cli_cmd {
	const char *name;
	int (*fn)(struct cli *cli, int argc, char **argv);
	const char *summary;
	const char *usage; /* full --help text after "usage: qvmi " */
};

/* Long options every command accepts (global target selection). */
enum {
	OPT_QMP = 1000,
	OPT_DUMP,
	OPT_GDB,
	OPT_PMEM,
	OPT_SOURCE,
	OPT_TIMEOUT,
	OPT_JSON,
	OPT_RAW_MAP,
	OPT_HELP,
	OPT_SESSION,
	OPT_SESSION_LISTEN,
	OPT_KEY,
	OPT_BTF,
	OPT_ISF,
	OPT_SYSTEM_MAP,
	OPT_CACHE_DIR,
	OPT_DOMAIN,
	OPT_CONNECT,
	OPT_KEY_DIR,
	OPT_CMD_BASE = 1100, /* commands number their own options from here */
};

/*
 * getopt_long over the global options plus the command's own (long only,
 * terminated by a zeroed entry).  Calls fn for each command option; returns
 * the index of the first positional argument, or a negative value after
 * printing an error.  Handles --help by printing the command's usage.
 */
typedef int (*cli_opt_fn)(struct cli *cli, int opt, const char *arg,
			  void *data);
int cli_parse(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv,
	      const struct option *cmd_opts, cli_opt_fn fn, void *data);
/* Handle one global option; 1 if it was one, 0 if not, <0 on error. */
int cli_global_opt(struct cli *cli, int opt, const char *arg);

/* Attach cli->ctx to the selected target; prints the error. */
int cli_attach(struct cli *cli);
/*
 * Outcomes (tools/cli-report.c).  cli_fail: a library call failed and
 * nothing was printed: "qvmi: what: errmsg: strerror" on stderr, or with
 * --json one {"error": {command, message, errno, code[, fault_address]}}
 * object on stdout; returns 1.  cli_error: the same with the CLI's own
 * message.  cli_result: the end of a command that printed a result: with
 * err == 0 prints result (JSON, may be NULL in text mode) and returns 0;
 * with err < 0 the result was partial (a walk stopped early): says so,
 * with --json as {"error": {..., "partial": true}, "result": result}, and
 * returns 1.  A command whose call failed with nothing to show uses
 * cli_fail, never an empty result.
 */
int cli_fail(struct cli *cli, const char *what, int err);
int cli_error(struct cli *cli, const char *what, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int cli_result(struct cli *cli, const char *what, struct json_object *result,
	       int err);
int cli_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Numbers: 0x hex, decimal, and K/M/G/T suffixes (binary) for sizes. */
int cli_parse_u64(const char *s, uint64_t *ret);
int cli_parse_size(const char *s, uint64_t *ret);

/* Print a json object (pretty) to stdout and release it. */
void cli_json_print(struct json_object *obj);

void cli_hexdump(FILE *f, uint64_t addr, const uint8_t *buf, size_t len);

/* Commands (tools/cmd-*.c) */
/* A progress bar on stderr for a qvmi_progress_fn (tools/progress.c):
 * drawn only when stderr is a terminal. */
struct cli_progress {
	bool tty;
	bool shown; /* a partial bar is on the line */
	int last_pct;
	double t0, last; /* CLOCK_MONOTONIC s: start, last redraw */
};
void cli_progress_init(struct cli_progress *p);
void cli_progress(uint64_t done, uint64_t total, void *arg);
/* Erase a partial bar before printing other lines to the terminal. */
void cli_progress_clear(struct cli_progress *p);
/* "de ad be ef", "deadbeef", "0xde,0xad" into malloc'd bytes. */
int cli_parse_hex(const char *s, uint8_t **ret, size_t *nret);

int cmd_info(struct cli *cli, int argc, char **argv);
int cmd_read(struct cli *cli, int argc, char **argv);
int cmd_write(struct cli *cli, int argc, char **argv);
int cmd_find(struct cli *cli, int argc, char **argv);
int cmd_dump(struct cli *cli, int argc, char **argv);
int cmd_pause(struct cli *cli, int argc, char **argv);
int cmd_resume(struct cli *cli, int argc, char **argv);
int cmd_status(struct cli *cli, int argc, char **argv);
int cmd_regs(struct cli *cli, int argc, char **argv);
int cmd_translate(struct cli *cli, int argc, char **argv);
int cmd_pages(struct cli *cli, int argc, char **argv);
int cmd_ps(struct cli *cli, int argc, char **argv);
int cmd_pstree(struct cli *cli, int argc, char **argv);
int cmd_lsmod(struct cli *cli, int argc, char **argv);
int cmd_maps(struct cli *cli, int argc, char **argv);
int cmd_cmdline(struct cli *cli, int argc, char **argv);
int cmd_env(struct cli *cli, int argc, char **argv);
int cmd_dmesg(struct cli *cli, int argc, char **argv);
int cmd_sym(struct cli *cli, int argc, char **argv);

/* Linux guests (tools/cmd-linux.c): open the kernel (prints the error),
 * parse a pid argument (prints the error). */
int cli_linux_open(struct cli *cli, struct qvmi_linux **ret);
int cli_parse_pid(const char *s, int32_t *ret);
int cmd_watch(struct cli *cli, int argc, char **argv);
int cmd_step(struct cli *cli, int argc, char **argv);

extern const struct cli_cmd cli_cmds[];
const struct cli_cmd *cli_find_cmd(const char *name);

#endif
