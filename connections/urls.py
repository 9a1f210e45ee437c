from django.urls import path

from connections import permission_views, repair_views, views

app_name = "connections"
urlpatterns = [
    path("", views.connection_list, name="list"),
    path("audit/", views.audit_trail, name="audit"),
    path("permissions/", permission_views.permission_planner, name="permissions"),
    path("connections/add/", views.connection_add, name="add"),
    path("connections/check-all/", views.check_all, name="check_all"),
    path("batches/<uuid:batch_id>/", views.batch_detail, name="batch"),
    path("connections/<uuid:public_id>/", views.connection_detail, name="detail"),
    path("connections/<uuid:public_id>/edit/", views.connection_edit, name="edit"),
    path("connections/<uuid:public_id>/archive/", views.connection_archive, name="archive"),
    path("connections/<uuid:public_id>/restore/", views.connection_restore, name="restore"),
    path("connections/<uuid:public_id>/check/", views.start_run, name="check"),
    path("connections/<uuid:public_id>/test-notice/", views.send_test_notice, name="test_notice"),
    path("connections/<uuid:public_id>/rotate/", views.rotate, name="rotate"),
    path("connections/<uuid:public_id>/store-token/", views.store_token, name="store_token"),
    path("connections/<uuid:public_id>/onboarding/", views.onboarding_page, name="onboarding"),
    path("connections/<uuid:public_id>/onboarding/<slug:step>/confirm/", views.onboarding_confirm,
         name="onboarding_confirm"),
    path("connections/<uuid:public_id>/fix-permissions/", repair_views.fix_permissions,
         name="fix_permissions"),
    path("connections/<uuid:public_id>/runs/", views.run_history, name="history"),
    path("connections/<uuid:public_id>/runs/<uuid:run_id>/", views.run_detail, name="run"),
    path("connections/<uuid:public_id>/notices/<int:notice_id>/acknowledge/",
         views.acknowledge_notice, name="acknowledge"),
]
