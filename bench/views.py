from django.http import HttpRequest, HttpResponse


def bare(request: HttpRequest) -> HttpResponse:
    """No database, no template: what the server and the middleware cost on their own.

    The interactive mix is measured against this view served by the same gunicorn, so the ratio
    shows what Trellis's own work adds on top of the server's ceiling.
    """
    return HttpResponse("ok", content_type="text/plain")
