/* The target filter every tool's BPF text shares.  User space (src/run.c)
 * writes the traced process's PID into config[CONFIG_TGID] after loading,
 * so one compiled program serves every target and the compile cache
 * holds one entry for all of them.  0 means every process. */
#ifndef CKBTRACE_TARGET_BPF_H
#define CKBTRACE_TARGET_BPF_H

#define CONFIG_TGID 0
#define CONFIG_COUNT 1

BPF_ARRAY(config, u64, CONFIG_COUNT);

/* Does the current task belong to the traced process (or is every
 * process traced)? */
static __always_inline int ours(u64 pid_tgid)
{
	u32 k = CONFIG_TGID;
	u64 *tgid = config.lookup(&k);

	return !tgid || *tgid == 0 || (pid_tgid >> 32) == *tgid;
}

#endif
