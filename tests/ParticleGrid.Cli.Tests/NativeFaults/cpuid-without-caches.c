// cpuid-without-caches.so: makes this CPU look, to the process it is preloaded into, like the Zen 5 VMs whose CPUID
// describes no caches (lscpu shows no cache lines there), so the tests can reproduce oneDNN's SIGFPE and prove the
// route around it on any x86 machine with CPUID faulting (/proc/cpuinfo flag cpuid_fault; KVM guests have it).
//
//   gcc -shared -fPIC -O2 -o cpuid-without-caches.so cpuid-without-caches.c -ldl
//   LD_PRELOAD=./cpuid-without-caches.so particlegrid train --arch resnet50 ...
//
// How: the constructor turns on CPUID faulting (arch_prctl ARCH_SET_CPUID, 0), so every `cpuid` instruction traps
// with SIGSEGV; the handler runs the real cpuid with faulting briefly off, zeroes the cache leaves (AMD 0x8000001D,
// Intel 4; with SHIM_ZERO_LEGACY=1 also AMD 0x80000005/6), writes the registers back and steps over the instruction.
// The .NET runtime installs its own SIGSEGV handler (and itself runs cpuid inside it), so sigaction() is interposed:
// ours stays first and the runtime's is chained for every other SIGSEGV (null references and real faults alike).
// SHIM_LOG=1 logs each emulated cpuid; SHIM_FPE=1 prints where a SIGFPE happened before it proceeds.
#define _GNU_SOURCE
#include <signal.h>
#include <ucontext.h>
#include <unistd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dlfcn.h>
#include <sys/syscall.h>
#include <asm/prctl.h>

#ifndef ARCH_GET_CPUID
#define ARCH_GET_CPUID 0x1011
#define ARCH_SET_CPUID 0x1012
#endif

static struct sigaction prev_segv;
static int log_on, zero_legacy;

static int shim_ready, fpe_on;
static struct sigaction prev_fpe;
typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);
static sigaction_fn real_sigaction_p;
static sigaction_fn real_sa(void) {
    if (!real_sigaction_p) real_sigaction_p = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
    return real_sigaction_p;
}
// Interpose sigaction so our SIGSEGV handler always stays first; the
// application's SIGSEGV handler (e.g. CoreCLR's) is recorded and chained to.
int sigaction(int sig, const struct sigaction *act, struct sigaction *oldact) {
    if (shim_ready && sig == SIGSEGV) {
        if (oldact) *oldact = prev_segv;
        if (act) prev_segv = *act;
        return 0;
    }
    if (shim_ready && fpe_on && sig == SIGFPE) {
        if (oldact) *oldact = prev_fpe;
        if (act) prev_fpe = *act;
        return 0;
    }
    return real_sa()(sig, act, oldact);
}

static long arch_prctl_(int code, unsigned long arg) {
    return syscall(SYS_arch_prctl, code, arg);
}

static void say(const char *s) { (void)!write(2, s, strlen(s)); }

static void hex(char *buf, uint32_t v) {
    static const char d[] = "0123456789abcdef";
    for (int i = 7; i >= 0; i--) { buf[i] = d[v & 15]; v >>= 4; }
    buf[8] = 0;
}

static void segv_handler(int sig, siginfo_t *si, void *uc_) {
    ucontext_t *uc = (ucontext_t *)uc_;
    greg_t *g = uc->uc_mcontext.gregs;
    const unsigned char *ip = (const unsigned char *)g[REG_RIP];
    if (ip && ip[0] == 0x0F && ip[1] == 0xA2) {
        uint32_t leaf = (uint32_t)g[REG_RAX], sub = (uint32_t)g[REG_RCX];
        uint32_t a, b, c, d;
        arch_prctl_(ARCH_SET_CPUID, 1);
        __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(leaf), "c"(sub));
        arch_prctl_(ARCH_SET_CPUID, 0);
        int zeroed = 0;
        if (leaf == 0x8000001D || leaf == 4) zeroed = 1;
        if (zero_legacy && (leaf == 0x80000005 || leaf == 0x80000006)) zeroed = 1;
        if (zeroed) a = b = c = d = 0;
        if (log_on) {
            char l[9], s[9], buf[80];
            hex(l, leaf); hex(s, sub);
            snprintf(buf, sizeof buf, "[shim] cpuid %s.%s%s\n", l, s, zeroed ? " -> zeroed" : "");
            say(buf);
        }
        g[REG_RAX] = a; g[REG_RBX] = b; g[REG_RCX] = c; g[REG_RDX] = d;
        g[REG_RIP] += 2;
        return;
    }
    // Not ours: chain.
    if (prev_segv.sa_flags & SA_SIGINFO) {
        if (prev_segv.sa_sigaction) { prev_segv.sa_sigaction(sig, si, uc_); return; }
    } else if (prev_segv.sa_handler != SIG_DFL && prev_segv.sa_handler != SIG_IGN) {
        prev_segv.sa_handler(sig); return;
    }
    signal(SIGSEGV, SIG_DFL);
    raise(SIGSEGV);
}

static void fpe_handler(int sig, siginfo_t *si, void *uc_) {
    ucontext_t *uc = (ucontext_t *)uc_;
    void *rip = (void *)uc->uc_mcontext.gregs[REG_RIP];
    Dl_info di;
    char buf[512];
    if (dladdr(rip, &di) && di.dli_fname) {
        snprintf(buf, sizeof buf, "[shim] SIGFPE code=%d rip=%p in %s (+0x%lx) sym=%s\n",
                 si->si_code, rip, di.dli_fname,
                 (unsigned long)((char *)rip - (char *)di.dli_fbase),
                 di.dli_sname ? di.dli_sname : "?");
    } else {
        snprintf(buf, sizeof buf, "[shim] SIGFPE code=%d rip=%p\n", si->si_code, rip);
    }
    say(buf);
    if ((prev_fpe.sa_flags & SA_SIGINFO) && prev_fpe.sa_sigaction) {
        prev_fpe.sa_sigaction(sig, si, uc_); return;
    }
    signal(SIGFPE, SIG_DFL);
    raise(SIGFPE);
}

__attribute__((constructor)) static void shim_init(void) {
    log_on = getenv("SHIM_LOG") && atoi(getenv("SHIM_LOG"));
    zero_legacy = getenv("SHIM_ZERO_LEGACY") && atoi(getenv("SHIM_ZERO_LEGACY"));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = segv_handler;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    real_sa()(SIGSEGV, &sa, &prev_segv);
    shim_ready = 1;
    fpe_on = getenv("SHIM_FPE") && atoi(getenv("SHIM_FPE"));
    if (fpe_on) {
        struct sigaction fa;
        memset(&fa, 0, sizeof fa);
        fa.sa_sigaction = fpe_handler;
        fa.sa_flags = SA_SIGINFO;
        real_sa()(SIGFPE, &fa, &prev_fpe);
    }
    if (arch_prctl_(ARCH_SET_CPUID, 0) != 0) say("[shim] ARCH_SET_CPUID failed\n");
    else if (log_on) say("[shim] cpuid faulting on\n");
}
