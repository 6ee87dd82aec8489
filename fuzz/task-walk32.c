// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Fuzz the Linux views of a 32-bit (i386) kernel: task-walk.c over
 * FK_I386, a synthetic BTF of 4-byte pointers and longs.  Input: copied
 * over the kernel image from init_task on and over the start of the
 * direct-map heap, so list links, 32-slot maple nodes and ring indices
 * (30-bit ids) are all attacker-chosen.
 */
#define TASK_WALK_VARIANT FK_I386
#include "task-walk.c"
