"""Tests of the API (`derivecert.api`): in-process clients, live nodes, fakes of peers and stores."""
