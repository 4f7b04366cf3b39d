from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, get_resolver


def forbidden(request: HttpRequest, exception=None) -> HttpResponse:
    return render(request, "errors/403.html", {"reason": str(exception or "")}, status=403)


def not_found(request: HttpRequest, exception=None) -> HttpResponse:
    return render(request, "errors/404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # No context processors: the failure may be in one of them.
    from django.template import loader

    return HttpResponse(loader.get_template("errors/500.html").render(), status=500)


class ProductNotFoundMiddleware:
    """Under ``DEBUG``, Django answers a missing page with its technical 404, which lists every
    URL pattern of the site. Someone who is not signed in — a visitor to the demo, a patient on
    a questionnaire link — gets the product's own "Not found" page instead, as in production.

    Signed-in staff keep the technical page under ``DEBUG``: only a development checkout runs
    with it, and there "raised by" and the patterns tried are what a developer needs. Without
    ``DEBUG`` this middleware does nothing; ``handler404`` already serves the product page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._applies(request):
            # A path that matches no URL pattern never reaches a view (nor process_exception):
            # Django turns it into the technical page straight away, so look first.
            try:
                get_resolver(getattr(request, "urlconf", None)).resolve(request.path_info)
            except Resolver404:
                return not_found(request)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if isinstance(exception, Http404) and self._applies(request):
            return not_found(request, exception)
        return None

    @staticmethod
    def _applies(request: HttpRequest) -> bool:
        return settings.DEBUG and not request.user.is_authenticated
