"""Human-readable problem messages in French and Arabic, one pair per problem code."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "too_large": ("La requête dépasse la taille autorisée.", "يتجاوز الطلب الحجم المسموح به."),
    "malformed": ("La requête est mal formée.", "الطلب غير سليم البنية."),
    "unsupported_media_type": ("Le type de contenu n'est pas pris en charge.", "نوع المحتوى غير مدعوم."),
    "signature_invalid": ("La signature de la requête est invalide.", "توقيع الطلب غير صالح."),
    "certificate_untrusted": ("Le certificat du signataire n'est pas reconnu.", "شهادة الموقّع غير موثوقة."),
    "certificate_expired": (
        "Le certificat du signataire n'est pas en cours de validité.",
        "شهادة الموقّع خارج فترة صلاحيتها.",
    ),
    "certificate_revoked": ("Le certificat du signataire est révoqué.", "شهادة الموقّع ملغاة."),
    "requester_mismatch": ("Le signataire n'est pas le demandeur déclaré.", "الموقّع ليس هو الجهة الطالبة المصرّح بها."),
    "schema_invalid": ("La requête ne respecte pas son schéma.", "الطلب لا يطابق المخطط المحدد له."),
    "stale_request": (
        "La date d'émission de la requête est hors de la fenêtre admise.",
        "تاريخ إصدار الطلب خارج النطاق الزمني المسموح.",
    ),
    "unknown_document_type": ("Ce type de document n'existe pas.", "نوع الوثيقة هذا غير موجود."),
    "access_denied": (
        "Le demandeur n'est pas autorisé à demander ce document.",
        "الجهة الطالبة غير مخوّلة لطلب هذه الوثيقة.",
    ),
    "purpose_not_allowed": (
        "Cette finalité ne permet pas de demander ce document.",
        "هذا الغرض لا يسمح بطلب هذه الوثيقة.",
    ),
    "rate_limited": ("Quota de requêtes dépassé ; réessayez plus tard.", "تم تجاوز حصة الطلبات؛ أعد المحاولة لاحقًا."),
    "duplicate_conflict": (
        "Cet identifiant de requête a déjà servi pour un autre contenu.",
        "معرّف الطلب هذا استُخدم سابقًا لمحتوى مختلف.",
    ),
    "deadline_exceeded": ("Le délai de la requête est dépassé.", "انقضت المهلة المحددة للطلب."),
    "provider_unavailable": ("L'administration détentrice est indisponible.", "الإدارة المالكة للبيانات غير متاحة."),
    "provider_timeout": (
        "L'administration détentrice n'a pas répondu à temps.",
        "لم تردّ الإدارة المالكة للبيانات في الوقت المحدد.",
    ),
    "provider_error": ("L'administration détentrice a répondu par une erreur.", "ردّت الإدارة المالكة للبيانات بخطأ."),
    "internal_error": ("Erreur interne de la passerelle.", "خطأ داخلي في البوابة."),
}


def message(code: str) -> tuple[str, str]:
    """(French, Arabic) for a problem code."""
    return MESSAGES.get(code, MESSAGES["internal_error"])
