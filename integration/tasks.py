"""Integration's periodic tasks: sweep, purge, the SIEM summary. A delivery is sent by the outbound
mechanism's task (eventbus.outbound.send), a subscription resumed by services/resume.py's."""

from celery import shared_task

from integration import services


@shared_task(name="integration.sweep", ignore_result=True)
def sweep() -> int:
    return services.deliveries_sweep()


@shared_task(name="integration.purge_deliveries", ignore_result=True)
def purge_deliveries() -> int:
    return services.deliveries_purge()


@shared_task(name="integration.siem_daily_summary", ignore_result=True)
def siem_daily_summary() -> int:
    return services.siem_daily_summary()
