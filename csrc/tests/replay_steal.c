/* replay_steal.c -- deterministic replay of a lost wake-up in the steal path (a review finding).
 *
 * A thief that is not a searcher steals one task plus extras; between taking an extra out of
 * the victim's deque and pushing it into its own, the extra is visible to nobody. If the node's
 * only searcher looks exactly then, finds the last visible task and leaves searching, it sees
 * no more work and wakes nobody; the extra then waits in the thief's deque while a worker of
 * the node sleeps (a hang when tasks wait on each other). The fix: a steal that moved extras
 * notifies the node. This program builds that interleaving on one thread, through a test seam
 * in worker.c (AIO_TEST_STEAL_HOOK), and checks that afterwards either a worker searches or the
 * parked worker was woken.
 *
 * Workers: W0 holds a, b, c in its deque; W2 is the node's only searcher (S = 1); W3 is parked;
 * W1 (not a searcher) steals a and, as an extra, b; inside that window W2 takes c and leaves.
 * Exit 0: ok; 1: the extra was left with everyone else asleep (FAIL line).
 */
#include <stdio.h>

static int in_hook;
static void hook(void *w, void *victim, void *item);
#define AIO_TEST_STEAL_HOOK(w, victim, item) hook((w), (victim), (item))
#include "../worker.c"

static aio_engine *engine;
static aio_task task_a, task_b, task_c;

static void hook(void *wv, void *victim, void *item) {
    (void)victim;
    (void)item;
    aio_worker *w = wv;
    if (in_hook || w->index != 1) return;
    in_hook = 1;
    aio_node *n = &engine->nodes[0];
    aio_task *t = find_task(&engine->workers[2]); /* the searcher looks while b is in W1's hands */
    if (t != &task_c) {
        printf("replay_steal: FAIL: setup: the searcher took %p, not c\n", (void *)t);
        exit(1);
    }
    end_search_found(engine, n); /* S 1 -> 0; no work visible: no wake-up from here */
    in_hook = 0;
}

static int32_t py(uint64_t id) {
    (void)id;
    return AIO_STATUS_OK;
}

int main(void) {
    int32_t workers[1] = {4};
    aio_engine_config cfg = {.n_nodes = 1, .node_workers = workers, .capacity = 64, .enable_stealing = 1,
                             .balance_threshold = 0.5, .wake_policy = AIO_WAKE_ANY, .py_entry = py};
    if (aio_engine_create(&cfg, &engine) != AIO_OK) return 2;
    for (int i = 0; i < 4; i++)
        if (aio_deque_init(&engine->workers[i].deque, 256) != 0) return 2; /* no threads: set up here */
    aio_node *n = &engine->nodes[0];
    aio_deque_push(&engine->workers[0].deque, &task_a);
    aio_deque_push(&engine->workers[0].deque, &task_b);
    aio_deque_push(&engine->workers[0].deque, &task_c);
    st_seq_cst(&n->searching, 1);            /* seq_cst: W2 searches */
    st_seq_cst(&engine->workers[3].park, 1); /* seq_cst: W3 is parked */
    st_seq_cst(&n->parked, 1);               /* seq_cst: as above */
    engine->workers[1].rng = 1;
    aio_task *got = find_task(&engine->workers[1]); /* W1 steals a (+ b), not as a searcher */
    int extra_queued = aio_deque_size(&engine->workers[1].deque) > 0;
    int searching = ld_seq_cst(&n->searching);
    int w3_parked = (int)ld_seq_cst(&engine->workers[3].park);
    if (got != &task_a || !extra_queued) {
        printf("replay_steal: FAIL: setup: W1 got %p, its deque %s\n", (void *)got, extra_queued ? "holds b" : "is empty");
        return 1;
    }
    if (searching == 0 && w3_parked) {
        printf("replay_steal: FAIL: b waits in W1's deque while W3 sleeps and nobody searches\n");
        return 1;
    }
    printf("replay_steal: ok: after the steal, searching=%d, W3 %s\n", searching, w3_parked ? "parked" : "woken");
    aio_engine_destroy(engine);
    return 0;
}
