/* Application timers (sock_timer_start / sock_timer_stop, MSG_TIMER through sock_wait_msg)
 * and the firmware's answers to refused calls (sock_set_compat), tested both ways. */
#include "harness.h"
#include <time.h>

static long long mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One expiry per start, with the timer id in socket_index, never before its time. */
static void timers_fire_once_in_order(void) {
    long long t0 = mono_ms();
    ASSERT_EQ(sock_timer_start(3, 90), 1);
    ASSERT_EQ(sock_timer_start(2, 30), 1);
    EXPECT_MSG(MSG_TIMER, 2, SOCK_ERR_OK);
    ASSERT_GE(mono_ms() - t0, 30);
    EXPECT_MSG(MSG_TIMER, 3, SOCK_ERR_OK);
    ASSERT_GE(mono_ms() - t0, 90);
    ASSERT_NO_MSG(150);
    ASSERT_EQ(sock_timer_stop(3), 0); /* taken: nothing left to stop */
}

/* Stop and restart withdraw an expiry still waiting in the ring. */
static void timers_stop_and_restart(void) {
    ASSERT_EQ(sock_timer_start(5, 40), 1);
    ASSERT_EQ(sock_timer_stop(5), 1);
    ASSERT_NO_MSG(120);

    ASSERT_EQ(sock_timer_start(6, 0), 1);
    struct pollfd p = {sock_msg_fd(), POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, WAIT_MS), 1); /* expired: its message waits in the ring */
    ASSERT_EQ(sock_timer_stop(6), 1);
    ASSERT_NO_MSG(100);

    ASSERT_EQ(sock_timer_start(7, 0), 1);
    ASSERT_EQ(poll(&p, 1, WAIT_MS), 1);
    long long t0 = mono_ms();
    ASSERT_EQ(sock_timer_start(7, 80), 1); /* replaces the pending expiry */
    EXPECT_MSG(MSG_TIMER, 7, SOCK_ERR_OK);
    ASSERT_GE(mono_ms() - t0, 80);
    ASSERT_NO_MSG(100);
}

static void timers_bad_arguments(void) {
    ASSERT_EQ(sock_timer_start(-1, 10), -SOCK_ERR_EARG);
    ASSERT_EQ(sock_timer_start(1, -1), -SOCK_ERR_EARG);
    ASSERT_EQ(sock_timer_stop(-7), -SOCK_ERR_EARG);
    ASSERT_EQ(sock_timer_stop(424242), 0);
}

/* A socket's destroy spares the timer that has the same number. */
static void timers_survive_socket_destroy(void) {
    server *udp = server_start(SRV_UDP, 1);
    int id = connect_ok(SOCK_TYPE_UDP, udp->port, NULL);
    ASSERT_EQ(sock_timer_start(id, 0), 1);
    struct pollfd p = {sock_msg_fd(), POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, WAIT_MS), 1);
    ASSERT_EQ(sock_destroy(id), 1);
    EXPECT_MSG(MSG_TIMER, id, SOCK_ERR_OK);
    server_stop(udp);
}

/* A socket whose connect was refused, destroyed as the firmware's socket library does. */
static int refused_and_destroyed(void) {
    int fd, port = refused_port(&fd);
    int id = sock_conn(SOCK_TYPE_TCP, port, "127.0.0.1", NULL);
    ASSERT_GE(id, 0);
    EXPECT_MSG(MSG_SOCK_CONN_CNF, id, SOCK_ERR_ECONNREFUSED);
    ASSERT_EQ(sock_destroy(id), 1);
    close(fd);
    return id;
}

/* Default: the strict contract, a refused call posts nothing. */
static void compat_off_posts_nothing(void) {
    ASSERT_EQ(sock_set_compat(0), 0);
    int id = refused_and_destroyed();
    ASSERT_EQ(sock_close(id), 0);
    ASSERT_EQ(sock_send(id, "x", 1), 0);
    ASSERT_NO_MSG(100);
}

/* SOCK_COMPAT_FIRMWARE: close after destroy and a second close each get a CLOSE_CNF; a
 * refused send gets a failed SEND_CNF; a send after CLOSE_IND is refused with ECLSD. */
static void compat_firmware_answers(void) {
    ASSERT_EQ(sock_set_compat(SOCK_COMPAT_FIRMWARE), 0);
    ASSERT_EQ(sock_set_compat(16), -SOCK_ERR_EARG);
    int id = refused_and_destroyed();
    ASSERT_EQ(sock_close(id), 1);
    EXPECT_MSG(MSG_SOCK_CLOSE_CNF, id, SOCK_ERR_OK);
    ASSERT_EQ(sock_send(id, "x", 1), 0);
    sock_msg m = EXPECT_MSG(MSG_SOCK_SEND_CNF, id, SOCK_ERR_EBADID);
    ASSERT_EQ(m.send_len, 0);

    server *echo = server_start(SRV_ECHO, 0);
    id = connect_ok(SOCK_TYPE_TCP, echo->port, NULL);
    ASSERT_EQ(sock_close(id), 1);
    ASSERT_EQ(sock_close(id), 1);
    EXPECT_MSG(MSG_SOCK_CLOSE_CNF, id, SOCK_ERR_OK);
    EXPECT_MSG(MSG_SOCK_CLOSE_CNF, id, SOCK_ERR_OK);
    ASSERT_EQ(sock_destroy(id), 1);
    server_stop(echo);
    ASSERT_EQ(sock_set_compat(0), SOCK_COMPAT_FIRMWARE);
    ASSERT_NO_MSG(100);
}

int main(int argc, char **argv) {
    TEST_INIT(argc, argv);
    RUN(timers_fire_once_in_order);
    RUN(timers_stop_and_restart);
    RUN(timers_bad_arguments);
    RUN(timers_survive_socket_destroy);
    RUN(compat_off_posts_nothing);
    RUN(compat_firmware_answers);
    return test_end();
}
