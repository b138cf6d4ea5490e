"""Segments over the API: CRUD, the live count, and the members, a cursor page at a time."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from engagex.api.pagination import IdCursorPagination
from engagex.api.views import _acting_user
from engagex.contacts.models import Contact
from engagex.segments.models import Segment
from engagex.segments.selectors import segment_contacts, segment_count
from engagex.segments.services import (
    rule_errors,
    segment_create,
    segment_delete,
    segment_update,
)


class SegmentSerializer(serializers.ModelSerializer):
    rule = serializers.JSONField()

    class Meta:
        model = Segment
        fields = ["id", "name", "description", "rule", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class SegmentMemberSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = ["id", "email", "first_name", "last_name", "status", "attributes"]


class SegmentCountSerializer(serializers.Serializer):
    matching = serializers.IntegerField()
    sendable = serializers.IntegerField()
    sample = serializers.ListField(child=serializers.DictField())


def _rule_refused(error: DjangoValidationError) -> ValidationError:
    return ValidationError({"rule": rule_errors(error)})


class SegmentViewSet(viewsets.ModelViewSet):
    serializer_class = SegmentSerializer
    queryset = Segment.objects.all()
    # Reading members is reading contacts; downloading them all is an export, not this.
    action_permissions = {
        "count": ["segments.view_segment"],
        "members": ["segments.view_segment", "contacts.view_contact"],
    }

    def perform_create(self, serializer):
        serializer.instance = segment_create(
            user=_acting_user(self.request), **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = segment_update(
            segment=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        segment_delete(segment=instance)

    @extend_schema(request=None, responses=SegmentCountSerializer)
    @action(detail=True, methods=["get"])
    def count(self, request, pk=None):
        try:
            return Response(segment_count(segment=self.get_object(), every_status=True))
        except DjangoValidationError as error:
            raise _rule_refused(error) from error

    @extend_schema(responses=SegmentMemberSerializer(many=True))
    @action(detail=True, methods=["get"])
    def members(self, request, pk=None):
        try:
            contacts = segment_contacts(segment=self.get_object())
        except DjangoValidationError as error:
            raise _rule_refused(error) from error
        paginator = IdCursorPagination()
        page = paginator.paginate_queryset(contacts, request, view=self)
        return paginator.get_paginated_response(SegmentMemberSerializer(page, many=True).data)
