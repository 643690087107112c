/* User-space addresses of a traced process -> "function+0xoff (module)",
 * through /proc/PID/maps and the ELF symbol tables (C++ and Rust names
 * demangled), with the functions inlined there when the file has DWARF.
 * Symbol names stay in the mapped files (not copied); named frames are
 * cached, a bounded number of them. */
#ifndef CKBTRACE_SYMBOLIZE_H
#define CKBTRACE_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct symbolizer;

/* The path that opens the file pid maps at lo-hi, named name in
 * /proc/PID/maps, with device major:minor and inode ino: the name under
 * /proc/PID/root; when that cannot be reached (a deleted file, a tracer in
 * a chroot or mount namespace of its own, a directory it may not search)
 * /proc/PID/map_files/LO-HI, or /proc/PID/exe for the executable. */
void proc_map_path(pid_t pid, const char *name, unsigned long long lo,
		   unsigned long long hi, unsigned int major,
		   unsigned int minor, unsigned long long ino, char *out,
		   size_t len);

struct symbolizer *symbolizer_new(void);
void symbolizer_free(struct symbolizer *s);

/* Read pid's maps and the symbols of every file it maps executable now,
 * so that the first frames named do not wait for it.  0 or -ESRCH. */
int symbolizer_prepare(struct symbolizer *s, pid_t pid);

/* Keep the maps read so far for pid: an address outside them no longer
 * makes the symbolizer read /proc/PID/maps again.  For a process that
 * exec()ed another program (or exited): its stacks were taken in the old
 * maps. */
void symbolizer_keep(struct symbolizer *s, pid_t pid);

/* Name addr in process pid: the function into buf ("name+0x1f", or
 * "[unknown]") and the module's base name into mod.  0, or -ENOENT when
 * the address is in no mapped file (buf then says so). */
int symbolize(struct symbolizer *s, pid_t pid, uint64_t addr, char *buf,
	      size_t len, char *mod, size_t modlen);

/* Name the frame at pc of process pid as lines of width bytes at out
 * (out + i * width), at most max: "inlined [inlined] (module)" for each
 * function DWARF says was inlined at pc, innermost first, then
 * "function+0xoff (module)".  ret_addr: pc is a return address, looked
 * up as pc - 1.  The number of lines (1 or more when max >= 1). */
int symbolize_frame(struct symbolizer *s, pid_t pid, uint64_t pc,
		    bool ret_addr, char *out, int max, size_t width);

/* Where pc of process pid lies: in a mapped file, in anonymous or
 * special memory (JIT code, [vdso]), or in no mapping now. */
enum sym_where { SYM_FILE, SYM_ANON, SYM_UNMAPPED };
enum sym_where symbolize_where(struct symbolizer *s, pid_t pid, uint64_t pc);

/* Demangle an Itanium C++, legacy Rust or Rust v0 (_R...) name into buf
 * (legacy Rust's ::h<hash> suffix dropped); other names are copied as
 * they are. */
void demangle_name(const char *name, char *buf, size_t len);

#endif
