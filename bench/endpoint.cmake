# tern-bench-endpoint: handshakes per second of one tern_endpoint on one core
# against many clients (in a forked process), and heap per established association.
# Public API only. bench.endpoint.smoke runs it briefly (it checks that it runs,
# never the figures).
add_executable(tern-bench-endpoint ${CMAKE_CURRENT_LIST_DIR}/endpoint_bench.c)
target_link_libraries(tern-bench-endpoint PRIVATE tern::tern)
target_compile_definitions(tern-bench-endpoint PRIVATE TERN_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
if(TERN_BUILD_TESTS)
    add_test(NAME bench.endpoint.smoke
        COMMAND tern-bench-endpoint --seconds 1 --inflight 8 --hold 50)
    set_tests_properties(bench.endpoint.smoke PROPERTIES TIMEOUT 120 LABELS bench)
endif()
