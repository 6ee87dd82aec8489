// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * qvmi dump: guest RAM to an ELF core or a raw image.  For a Linux guest
 * the ELF core carries the kernel's layout and VMCOREINFO (from guest
 * memory) so that crash, drgn, makedumpfile and gdb open it; a raw image
 * gets the crash command line that opens it.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

enum {
	OPT_FORMAT = OPT_CMD_BASE,
	OPT_PAUSE,
	OPT_NO_KERNEL,
	OPT_COMPRESS,
	OPT_LEVEL,
};

struct dump_args {
	enum qvmi_dump_format format;
	enum qvmi_dump_compress compress;
	bool pause, no_kernel;
	unsigned int level;
	struct cli_progress progress;
};

/* makedumpfile's -d: the bits qvmi honours are 1 (zero pages, always)
 * and 16 (free pages). */
static int dump_level(const char *arg, unsigned int *ret)
{
	char *end;
	unsigned long v = strtoul(arg, &end, 10);

	if (!*arg || *end || v > 31) {
		fprintf(stderr, "qvmi: --dump-level takes 0-31 (makedumpfile "
				"-d)\n");
		return -1;
	}
	if (v & 14) {
		fprintf(stderr,
			"qvmi: --dump-level %lu: page cache and user pages "
			"(2, 4, 8) are not filtered; 1 (zero pages) and 16 "
			"(free pages) are\n",
			v);
		return -1;
	}
	*ret = (unsigned int)v | QVMI_DUMP_LEVEL_ZERO;
	return 0;
}

static int dump_opt(struct cli *cli, int opt, const char *arg, void *data)
{
	struct dump_args *a = data;

	(void)cli;
	if (opt == OPT_LEVEL)
		return dump_level(arg, &a->level);
	if (opt == OPT_PAUSE) {
		a->pause = true;
	} else if (opt == OPT_NO_KERNEL) {
		a->no_kernel = true;
	} else if (!strcmp(arg, "elf")) {
		a->format = QVMI_DUMP_ELF;
	} else if (!strcmp(arg, "raw")) {
		a->format = QVMI_DUMP_RAW;
	} else if (opt == OPT_COMPRESS) {
		static const char *const names[] = { "zlib", "lzo", "snappy",
						     "zstd" };
		size_t i;

		for (i = 0; i < 4 && strcmp(arg, names[i]); i++)
			;
		if (i == 4) {
			fprintf(stderr, "qvmi: --compress takes zlib, lzo, "
					"snappy or zstd\n");
			return -1;
		}
		a->compress = (enum qvmi_dump_compress)i;
	} else if (!strcmp(arg, "lime")) {
		a->format = QVMI_DUMP_LIME;
	} else if (!strcmp(arg, "kdump")) {
		a->format = QVMI_DUMP_KDUMP;
	} else {
		fprintf(stderr,
			"qvmi: --format takes elf, kdump, lime or raw\n");
		return -1;
	}
	return 0;
}

/* The kernel's layout, when the guest is Linux; a dump without it is
 * still a dump, so a failure is a warning. */
static bool kernel_layout(struct cli *cli, struct qvmi_linux **lx,
			  struct qvmi_dump_kernel *k)
{
	struct qvmi_linux_opts o = { .sz = sizeof(o),
				     .btf_path = cli->btf,
				     .isf_path = cli->isf,
				     .system_map = cli->system_map,
				     .cache_dir = cli->cache_dir };
	int err = qvmi_linux_open(cli->ctx, &o, lx);

	if (!err)
		err = qvmi_linux_dump_kernel(*lx, k);
	if (!err)
		return true;
	fprintf(stderr,
		"qvmi: dump: no Linux kernel layout (%s): writing physical "
		"addresses only; crash, drgn and makedumpfile need it\n",
		qvmi_errmsg(cli->ctx));
	return false;
}

/* What crash needs to open a raw image (its "ramdump" format). */
static void raw_hint(struct cli *cli, const char *path)
{
	struct qvmi_linux_info li;
	struct qvmi_linux *lx = NULL;
	QVMI_OPTS(qvmi_linux_opts, o, .btf_path = cli->btf,
		  .isf_path = cli->isf, .system_map = cli->system_map);

	if (qvmi_linux_open(cli->ctx, &o, &lx) || qvmi_linux_info(lx, &li)) {
		qvmi_linux_destroy(lx);
		return;
	}
	fprintf(stderr,
		"open it with: crash --kaslr 0x%" PRIx64
		" -m phys_base=0x%" PRIx64 " vmlinux-%s %s@0\n",
		(uint64_t)li.kaslr_slide, li.phys_base, li.release, path);
	qvmi_linux_destroy(lx);
}

/* The dump level against the format; free pages imply --pause. */
static int level_args(struct dump_args *a)
{
	if ((a->level & QVMI_DUMP_LEVEL_FREE) &&
	    (a->format != QVMI_DUMP_KDUMP || a->no_kernel)) {
		fprintf(stderr, "qvmi: dump: --dump-level 16 is for --format "
				"kdump of a Linux guest\n");
		return -1;
	}
	if (a->format != QVMI_DUMP_KDUMP)
		a->level = 0;
	/* free pages found, then copied: the VM must hold still between */
	if (a->level & QVMI_DUMP_LEVEL_FREE)
		a->pause = true;
	return 0;
}

int cmd_dump(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "pause", no_argument, NULL, OPT_PAUSE },
		{ "no-kernel", no_argument, NULL, OPT_NO_KERNEL },
		{ "compress", required_argument, NULL, OPT_COMPRESS },
		{ "dump-level", required_argument, NULL, OPT_LEVEL },
		{ 0 },
	};
	struct dump_args a = { .format = QVMI_DUMP_ELF,
			       .level = QVMI_DUMP_LEVEL_ZERO };
	struct qvmi_dump_kernel k = { 0 };
	struct qvmi_linux *lx = NULL;
	bool have_k = false;
	int i, err;

	i = cli_parse(cli, cli_find_cmd("dump"), argc, argv, opts, dump_opt,
		      &a);
	if (i == CLI_EXIT_HELP)
		return 0;
	if (i < 0)
		return 2;
	if (argc - i != 1)
		return cli_usage_error(cli_find_cmd("dump"), "need one FILE"),
		       2;
	if (cli_attach(cli))
		return 1;
	if (level_args(&a))
		return 2;
	if ((a.format == QVMI_DUMP_ELF || a.format == QVMI_DUMP_KDUMP) &&
	    !a.no_kernel)
		have_k = kernel_layout(cli, &lx, &k);
	if ((a.level & QVMI_DUMP_LEVEL_FREE) && !have_k) {
		qvmi_linux_destroy(lx);
		fprintf(stderr, "qvmi: dump: free pages need the Linux "
				"kernel\n");
		return 1;
	}
	cli_progress_init(&a.progress);
	{
		QVMI_OPTS(qvmi_dump_write_opts, wopts, .format = a.format,
			  .progress = cli_progress, .progress_arg = &a.progress,
			  .kernel = have_k ? &k : NULL, .pause = a.pause,
			  .compress = a.compress, .dump_level = a.level,
			  .lx = lx);

		err = qvmi_dump_write(cli->ctx, argv[i], &wopts);
	}
	qvmi_dump_kernel_deinit(&k);
	qvmi_linux_destroy(lx);
	if (err)
		return cli_fail(cli, "dump", err);
	if (!cli->json)
		printf("wrote %s\n", argv[i]);
	if (a.format == QVMI_DUMP_RAW)
		raw_hint(cli, argv[i]);
	return 0;
}
