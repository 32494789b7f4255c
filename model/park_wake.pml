/* park_wake.pml -- Promela model of the engine's park / wake / search protocol (one NUMA node).
 *
 * N workers and SUBS submitters share one task queue Q (the node's injector), the searching
 * count S, one futex word per worker parked[w] and the parked count P. The C code
 * (csrc/worker.c, csrc/engine.c) makes every shared access of this protocol seq_cst, so the
 * interleavings of single accesses that spin explores are the right semantics.
 *
 * Granularity: each statement that touches shared state is ONE C atomic access (a load, a
 * store, or one RMW: CAS, fetch_add, fetch_sub), or one take from the queue. `atomic { }` only
 * glues such a single access to the bookkeeping of process-local variables (which nobody
 * else can see), to an assertion, or to a nondeterministic local choice; it never joins two
 * shared accesses -- except where the protocol numbers them as one line (p1, and the CAS +
 * P-- of n4 and p2); SPLIT_PARK splits those too, as C has to. Step names t1, t2, s1, s2,
 * f1..f3, p1..p4, n1..n5 are those of the protocol in model/README.md.
 *
 * Configuration (spin -DNAME=value ...):
 *   N         workers (default 2; at most 4)
 *   SUBS      submitters (default 2)
 *   TASKS     tasks in all, split evenly over the submitters (default 4)
 *   BLOCKING  property D: every task but the last one taken blocks until that last one has
 *             run ("A and B cannot finish until C has run"); needs N >= TASKS
 *   SPLIT_PARK  p1 (parked[w] = 1; P++), the n4 wake (CAS parked[w] 1 -> 0; P--) and the p2
 *             cancel (same) as two accesses each, as they are in C (two different words);
 *             without it each of those numbered lines is one atomic step
 *   P_FIRST   with SPLIT_PARK: p1 does P++ before parked[w] = 1 (default: parked[w] = 1 first)
 *   P_LOOSE   P is not checked against 0 <= P <= N at all times (only at quiescence)
 * The protocol: a worker that cancels its own park in p2 becomes a searcher (S++, uncapped)
 * instead of going to t1, so f2 applies to what it takes; S may then reach N + 1 (the claim of
 * a waker in n3..n5 plus N searchers), so S is checked against 0 <= S <= N + 1. The first
 * version of the protocol went to t1 (seeded bug CANCEL_TAKES_ONE); see README.md, Findings 1.
 * An alternative fix that was also verified (not what the C code does):
 *   FIX_T1_NOTIFY        a worker that takes a task in t1 and sees Q > 0 calls notify()
 * Seeded bugs (each must make the check fail; scripts/model.sh checks that):
 *   SEED_BUG_WOKEN_NOT_SEARCHING     n3 does not claim S for the woken worker, n5 does not
 *                                    undo it, and a woken worker is a plain awake worker (it
 *                                    goes to t1 and never decrements S)
 *   SEED_BUG_NO_RECHECK_AFTER_UNDO   n5 returns without re-checking Q
 *   SEED_BUG_NO_PARK_RECHECK         p2 is skipped
 *   SEED_BUG_LAST_SEARCHER_NO_NOTIFY f2 is skipped
 *   SEED_BUG_CANCEL_TAKES_ONE        p2's cancel goes to t1 (takes one task, not a searcher):
 *                                    the first version of the protocol
 *   SEED_BUG_FUTEX_NO_LOOP           p3 takes any return of futex_wait for a wake-up (a stale
 *                                    futex_wake meant for an earlier park, or EINTR) instead
 *                                    of waiting until parked[w] == 0
 */

#ifndef N
#define N 2
#endif
#ifndef SUBS
#define SUBS 2
#endif
#ifndef TASKS
#define TASKS 4
#endif
#ifndef SEED_BUG_CANCEL_TAKES_ONE
#define S_LOOSE   /* a cancelled park searches: S may reach N + 1 (see p2) */
#endif

/* ---- shared state ------------------------------------------------------------------------ */
short Q;          /* queued tasks; changed only by a push (Q++) and a take (Q-- if Q > 0) */
short S;          /* searching workers, plus the one a waker has claimed in n3 for its wake-up */
short P;          /* parked count: P++ by the parker (p1), P-- by whoever un-parks it (n4, p2) */
bit parked[N];    /* the per-worker futex word: 1 = parked (or about to sleep), 0 = awake */
byte done;        /* tasks finished */
#ifdef BLOCKING
byte taken;       /* tasks taken so far: the next take gets ticket `taken` (FIFO position) */
bit last_ran;     /* the last task (ticket TASKS-1, "C") has run */
#endif
#ifdef SEED_BUG_FUTEX_NO_LOOP
bit sleeping[N];  /* worker w sleeps in the kernel in futex_wait(&parked[w], 1) */
bit kicked[N];    /* a futex_wake(&parked[w]) reached worker w while it slept */
#endif

/* ---- property C: invariants, asserted with every write, so they hold in every state ---- */
#ifdef S_LOOSE
#define S_OK (S >= 0 && S <= N + 1)
#else
#define S_OK (S >= 0 && S <= N)
#endif
#ifdef P_LOOSE
#define P_OK (true)
#else
#define P_OK (P >= 0 && P <= N)
#endif
#define S_ADD(d) atomic { S = S + (d); assert(S_OK) }
#define P_ADD(d) atomic { P = P + (d); assert(P_OK) }

/* A take that succeeds (the guard Q > 0 and Q-- are one step: the injector pop). A failed
 * take is the `else` next to it: it only reads Q. Without BLOCKING, running a task has no
 * effect on the protocol, so it is counted as done here. */
#ifdef BLOCKING
#define TAKE atomic { Q > 0 -> Q--; ticket = taken; taken++ }
#else
#define TAKE atomic { Q > 0 -> Q--; done++ }
#endif

/* n4, one option per worker j that the scan has not looked at yet (bit j of k clear): the scan
 * may look at the workers in any order (C: the worker on this CPU first). */
#define ALL_SCANNED ((1 << N) - 1)
#define UNSCANNED(j) ((k & (1 << j)) == 0)
#ifdef SPLIT_PARK
/* CAS(parked[j], 1 -> 0) succeeded; then, separately, fetch_sub(P, 1) */
#define CAS_WAKE(j) atomic { UNSCANNED(j) && parked[j] == 1 -> parked[j] = 0; i = j; k = 0 }; P_ADD(-1)
#else
/* CAS(parked[j], 1 -> 0) succeeded, and P-- in the same step */
#define CAS_WAKE(j) atomic { UNSCANNED(j) && parked[j] == 1 -> parked[j] = 0; P = P - 1; assert(P_OK); i = j; k = 0 }
#endif
#define SCAN(j) \
    :: CAS_WAKE(j); goto notify_woken \
    :: atomic { UNSCANNED(j) && parked[j] == 0 && (k | (1 << j)) != ALL_SCANNED -> k = k | (1 << j) } \
    :: atomic { UNSCANNED(j) && parked[j] == 0 && (k | (1 << j)) == ALL_SCANNED -> k = 0 } -> break

/* notify() -- C: aio_node_notify: called by a submitter after each push, and by the last
 * searcher that found work while more is queued (f2). Caller's locals: k (the workers the n4
 * scan has looked at, a bit mask), i (the worker woken). At most one call site per proctype
 * (its labels are not unique). */
inline notify() {
    do  /* one round per retry from n5 */
    :: S != 0 -> break              /* n1: load S: a searcher will find the task */
    :: else ->
        /* n2: load P: nobody parked, and every awake worker re-checks Q before it parks (p2) */
        if :: P == 0 -> break :: else fi;
#ifndef SEED_BUG_WOKEN_NOT_SEARCHING
        /* n3: CAS(S, 0 -> 1): claim the wake-up; the woken worker is counted in S from now on */
        if
        :: atomic { S == 0 -> S = 1; assert(S_OK) }
        :: else -> break            /* CAS failed: another waker, or a searcher, came first */
        fi;
#endif
        /* n4: for each worker j: if CAS(parked[j], 1 -> 0): P--; futex_wake(j); return */
        do
        SCAN(0)
#if N > 1
        SCAN(1)
#endif
#if N > 2
        SCAN(2)
#endif
#if N > 3
        SCAN(3)
#endif
        od;
        /* n5: found nobody parked: undo the claim, then re-check Q (retry from n1 if Q > 0) */
#ifndef SEED_BUG_WOKEN_NOT_SEARCHING
        S_ADD(-1);
#endif
#ifdef SEED_BUG_NO_RECHECK_AFTER_UNDO
        break                       /* the bug: no re-check */
#else
        if :: Q > 0 :: else -> break fi
#endif
    od;
    goto notify_done;
notify_woken:
    /* futex_wake(&parked[i], 1): no effect in the model (p3 waits for parked[w] == 0), except
     * with SEED_BUG_FUTEX_NO_LOOP: a worker that sleeps on parked[i] returns from futex_wait */
#ifdef SEED_BUG_FUTEX_NO_LOOP
    atomic { if :: sleeping[i] == 1 -> kicked[i] = 1 :: else fi; i = 0 };
#else
    i = 0;
#endif
notify_done:
    skip
}

proctype submitter(byte count) {
    byte n;     /* tasks pushed so far */
    byte i, k;  /* notify() locals */
    do
    :: n < count ->
        atomic { Q++; n++ };   /* push: the seq_cst publish of the task into the injector */
        notify()
    :: else -> break
    od
}

proctype worker(byte w) {
    short s;       /* t2: S as read; f1: S before the decrement */
    byte ticket;   /* BLOCKING: the task taken */
    byte i, k;     /* notify() locals */

top:
    /* t1: find_task: take from the queue */
    if
    :: TAKE ->
#ifdef FIX_T1_NOTIFY
        /* candidate fix: a take that leaves work queued notifies (n1 returns if S != 0) */
        if :: Q > 0 -> goto notify_then_run :: else -> goto run_it fi
#else
        goto run_it
#endif
    :: else
    fi;

t2: /* t2: become a searcher, capped: s = S; if 2*s >= N: park; else CAS(S, s -> s+1) */
    if
    :: atomic { 2 * S >= N -> skip } -> goto park
    :: atomic { 2 * S < N -> s = S }
    fi;
    if
    :: atomic { S == s -> S = s + 1; assert(S_OK); s = 0 } -> goto search
    :: atomic { S != s -> s = 0 } -> goto t2          /* CAS failed: retry t2 */
    fi;

search: /* w is counted in S */
    /* s1: try to take. One attempt: a failed attempt only reads Q, so several attempts
     * reach no state that one attempt made later does not. */
    if
    :: TAKE -> goto found
    :: else
    fi;
    /* s2: leave searching */
    S_ADD(-1);
    goto park;

found: /* w is a searcher and took a task */
    /* f1: was = fetch_sub(S, 1) */
    atomic { s = S; S = S - 1; assert(S_OK) };
    /* f2: the last searcher found work: if more is queued, get another worker searching */
#ifdef SEED_BUG_LAST_SEARCHER_NO_NOTIFY
    s = 0;
    goto run_it;
#else
    if
    :: atomic { s == 1 && Q > 0 -> s = 0 } -> goto notify_then_run
    :: atomic { !(s == 1 && Q > 0) -> s = 0 } -> goto run_it
    fi;
#endif

notify_then_run:
    notify();
run_it: /* f3 / t1: run the task */
#ifdef BLOCKING
    if
    :: atomic { ticket == TASKS - 1 -> last_ran = 1; done++; ticket = 0 }
    :: atomic { ticket != TASKS - 1 && last_ran == 1 -> done++; ticket = 0 }  /* blocked until C ran */
    fi;
#endif
    goto top;

park:
    /* p1: announce: parked[w] = 1 (the futex word) and P++ */
#ifdef SPLIT_PARK
#ifdef P_FIRST
    P_ADD(1);
    parked[w] = 1;
#else
    parked[w] = 1;
    P_ADD(1);
#endif
#else
    atomic { parked[w] = 1; P = P + 1; assert(P_OK) };
#endif

#ifndef SEED_BUG_NO_PARK_RECHECK
    /* p2: re-check Q after announcing ourselves */
    if
    :: Q > 0 ->
        /* work visible: CAS(parked[w], 1 -> 0) cancels our own park */
        if
#ifdef SPLIT_PARK
        :: atomic { parked[w] == 1 -> parked[w] = 0 } -> P_ADD(-1);
#else
        :: atomic { parked[w] == 1 -> parked[w] = 0; P = P - 1; assert(P_OK) } ->
#endif
#ifndef SEED_BUG_CANCEL_TAKES_ONE
            S_ADD(1); goto search   /* cancelled: search as a searcher (C: idle(), S++) */
#else
            goto top                /* the bug: take one task, leave the rest of a burst */
#endif
        :: else ->                  /* CAS failed: a waker already woke us, counted us in S */
#ifdef SEED_BUG_WOKEN_NOT_SEARCHING
            goto top                /* the bug: not counted, a plain awake worker */
#else
            goto search
#endif
        fi
    :: else
    fi;
#endif

    /* p3: sleep until woken. C: while (parked[w] == 1) futex_wait(&parked[w], 1); */
#ifdef SEED_BUG_FUTEX_NO_LOOP
    /* the bug: a single futex_wait(&parked[w], 1): it returns at once if parked[w] != 1
     * (the kernel's compare), else when a futex_wake reaches us -- possibly one that a waker
     * of an earlier park of ours issues late */
    if
    :: atomic { parked[w] == 1 -> sleeping[w] = 1 }
endp3:  atomic { kicked[w] == 1 -> sleeping[w] = 0; kicked[w] = 0 }
    :: else
    fi;
#else
endp3:
    parked[w] == 0;
#endif
    /* p4: woken: the waker counted us in S */
#ifdef SEED_BUG_WOKEN_NOT_SEARCHING
    goto top
#else
    goto search
#endif
}

/* Properties A, B (and D with BLOCKING): when nothing can move any more (timeout: every
 * submitter is done and no worker can take a step), all the work was taken and run, nobody
 * searches and every worker is parked. pan also reports any stuck state in which a worker is
 * not at its endp3 label (invalid end state), e.g. blocked inside a task. */
active proctype quiescence() {
    byte w;
    timeout ->
    assert(Q == 0);
    assert(done == TASKS);
    assert(S == 0);
    assert(P == N);
    do
    :: w < N -> assert(parked[w] == 1); w++
    :: else -> break
    od
}

init {
    byte w, n;
    atomic {
        do
        :: w < N -> run worker(w); w++
        :: else -> break
        od;
        do
        :: n < SUBS -> run submitter(TASKS / SUBS + (n < TASKS % SUBS -> 1 : 0)); n++
        :: else -> break
        od
    }
}
